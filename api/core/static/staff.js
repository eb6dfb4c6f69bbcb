// Staff sign-in shared by every staff page (坐席工作台, 工单工作台, 智能回访, 数据分析).
// Each page keeps its own tokens in sessionStorage (one tab, one person), answers a 401 with one
// refresh (access tokens live 15 minutes; the refresh token rotates each time), revokes on logout,
// and shows the server's own reason when sign-in is refused (wrong password, too many attempts).
// The page's markup provides <section id="login" data-title="…"> (the form is built here), #app and
// #logout.
(() => {
  "use strict";
  const byId = (id) => document.getElementById(id);

  function detailOf(body, status) {
    if (body?.detail) return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    return `请求失败（${status}）`;
  }

  const abandoned = new Promise(() => {});

  async function bodyOf(response) {
    return response.headers.get("content-type")?.includes("json") ? response.json() : null;
  }

  function buildLoginForm(section) {
    const form = document.createElement("form");
    form.id = "login-form";
    const title = document.createElement("h1");
    title.textContent = section.dataset.title || "建湖12345";
    const field = (label, id, type, autocomplete) => {
      const wrap = document.createElement("label");
      const input = document.createElement("input");
      Object.assign(input, { id, name: id, type, autocomplete, required: true });
      wrap.append(label + " ", input);
      return wrap;
    };
    const submit = document.createElement("button");
    submit.type = "submit";
    submit.textContent = "登录";
    const error = document.createElement("p");
    Object.assign(error, { id: "login-error", className: "error" });
    error.setAttribute("role", "alert");
    form.append(title, field("账号", "username", "text", "username"),
                field("密码", "password", "password", "current-password"), submit, error);
    section.replaceChildren(form);
  }

  // StaffSession({page, onStart, onStop}) wires the sign-in form and returns the page's API helpers.
  // onStart runs after sign-in (and on reload with a kept token); onStop after logout or expiry.
  window.StaffSession = function StaffSession({ page, onStart, onStop = () => {} }) {
    const key = `minsheng.${page}.`;
    buildLoginForm(byId("login"));
    let token = sessionStorage.getItem(key + "token");
    let refreshToken = sessionStorage.getItem(key + "refresh");

    function keep(body) {
      token = body.access_token;
      refreshToken = body.refresh_token;
      sessionStorage.setItem(key + "token", token);
      sessionStorage.setItem(key + "refresh", refreshToken);
    }

    async function refresh() {
      if (!refreshToken) return false;
      const response = await fetch("/api/v1/auth/refresh", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: refreshToken }),
      });
      if (!response.ok) return false;
      keep(await response.json());
      return true;
    }

    // request(path, options) → the Response; a string body is sent as JSON. Errors carry the API's reason.
    async function request(path, options = {}, retried = false) {
      const headers = { ...(options.headers || {}), Authorization: `Bearer ${token}` };
      if (typeof options.body === "string" && !headers["Content-Type"]) headers["Content-Type"] = "application/json";
      const response = await fetch(path, { ...options, headers });
      if (response.status === 401) {
        if (!retried && token && await refresh()) return request(path, options, true);
        expired();
        return abandoned;
      }
      if (!response.ok) throw new Error(detailOf(await bodyOf(response).catch(() => null), response.status));
      return response;
    }
    const json = async (path, options) => (await request(path, options)).json();

    function logout() {
      if (token) fetch("/api/v1/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } }).catch(() => {});
      token = null;
      refreshToken = null;
      sessionStorage.removeItem(key + "token");
      sessionStorage.removeItem(key + "refresh");
      onStop();
      byId("app").hidden = true;
      byId("login").hidden = false;
    }

    // The page calls shown() once its first data arrived, so a failed start leaves the form up.
    function shown() {
      byId("login").hidden = true;
      byId("app").hidden = false;
    }

    // Signed out by the server (session expired or revoked) or by this page while a request was on its
    // way: the page is back at the sign-in form with the reason, and the request's caller never resumes
    // (background refreshes would otherwise raise errors about a page nobody is looking at).
    function expired() {
      if (!token) return;
      logout();
      byId("login-error").textContent = "登录已过期，请重新登录。";
    }

    // A WebSocket that closed with 4401 (token expired) gets one refresh before the page gives up.
    async function socketExpired() {
      if (await refresh()) return true;
      expired();
      return false;
    }

    byId("login-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      byId("login-error").textContent = "";
      const form = new URLSearchParams({ username: byId("username").value, password: byId("password").value });
      const response = await fetch("/api/v1/auth/token", { method: "POST", body: form });
      if (!response.ok) {
        byId("login-error").textContent = detailOf(await bodyOf(response).catch(() => null), response.status);
        return;
      }
      keep(await response.json());
      onStart();
    });
    byId("logout").addEventListener("click", logout);
    if (token) setTimeout(onStart, 0);  // after the page script has finished defining what onStart uses

    return { request, json, logout, shown, socketExpired, token: () => token, signedIn: () => Boolean(token) };
  };
})();
