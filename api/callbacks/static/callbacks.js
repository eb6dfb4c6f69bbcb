// 智能回访 staff page: today's queue, campaign control, live progress, results, 满意率, export, 不回访.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const API = "/api/v1/callbacks";
  let timer = null;
  let campaign = null;

  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const when = (iso) => iso ? new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) : "";
  const dayText = (iso) => iso ? new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false, month: "long", day: "numeric", hour: "2-digit", minute: "2-digit" }) : "";

  // Dates are typed the Chinese way (2026年12月3日, 2026-12-3, 2026/12/3, or 12月3日 for this year)
  // and sent to the API as ISO dates; anything else is refused with a reason, not sent as is.
  function isoDate(text) {
    const t = String(text || "").trim();
    if (!t) return "";
    let m = t.match(/^(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})\s*日?$/);
    if (!m && (m = t.match(/^(\d{1,2})\s*月\s*(\d{1,2})\s*日?$/))) m = [t, new Date().getFullYear(), m[1], m[2]];
    if (!m) return null;
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const check = new Date(Date.UTC(y, mo - 1, d));
    if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
    return `${y}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
  }
  const cnDate = (iso) => { const [y, m, d] = iso.split("-").map(Number); return `${y}年${m}月${d}日`; };
  const solvedText = (v) => v === true ? "已解决" : v === false ? "未解决" : "";

  // Sign-in, token refresh and logout: the staff pages' shared script (/static/meta/staff.js).
  const session = StaffSession({ page: "callbacks", onStart: show, onStop: () => clearInterval(timer) });
  const api = session.request;
  const json = session.json;
  const notice = (text) => { $("notice").textContent = text || ""; };

  async function show() {
    try {
      const me = await json("/api/v1/auth/me");
      $("me").textContent = `${me.full_name || me.username}`;
    } catch (error) { $("login-error").textContent = error.message; return; }
    session.shown();
    refresh();
    loadStats();
    loadResults();
    loadOptouts();
    loadDepartments();
    clearInterval(timer);
    timer = setInterval(refresh, 3000);
  }

  async function refresh() {
    try {
      const p = await json(`${API}/progress`);
      $("day").textContent = p.day;
      for (const el of document.querySelectorAll("#tiles b")) el.textContent = p[el.dataset.k] ?? 0;
      $("later").textContent = p.scheduled_later ? `另有 ${p.scheduled_later} 个回访已排期，最早 ${dayText(p.next_scheduled_at)} 拨打。` : "";
      campaign = p.campaign;
      const label = campaign ? `${campaign.name}：${campaign.status === "running" ? "进行中" : "已暂停"}` : "尚未开始";
      $("campaign").textContent = label;
      $("campaign").className = `campaign ${campaign ? campaign.status : ""}`;
      $("window").textContent = p.in_window ? "现在是可回访时段" : `现在不在回访时段，下一个时段：${when(p.next_window)}`;
      $("start").hidden = !!campaign;
      $("pause").hidden = !(campaign && campaign.status === "running");
      $("resume").hidden = !(campaign && campaign.status === "paused");
      const rows = await json(`${API}/queue`);
      $("queue").innerHTML = rows.map((j) => `<tr><td>${esc(j.ticket_no)}</td><td>${esc(j.department)}</td><td>${j.channel === "chat" ? "对话" : "电话"}</td>
        <td>${esc(j.phone)}</td><td>${esc(j.status_label)}</td><td>${j.attempts}/${j.max_attempts}</td><td>${["queued", "retry", "chat_waiting"].includes(j.status) ? when(j.next_attempt_at) : ""}</td>
        <td>${esc(j.outcome_label)}</td><td>${esc(j.rating)}</td></tr>`).join("") || `<tr><td colspan="9">${p.scheduled_later ? `今天没有要拨打的回访；已排期 ${p.scheduled_later} 个，最早 ${esc(dayText(p.next_scheduled_at))}。` : "今天没有回访任务。"}</td></tr>`;
    } catch (error) { notice(error.message); }
  }

  async function campaignAction(action) {
    notice("");
    try {
      if (action === "start") await json(`${API}/campaigns`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
      else await json(`${API}/campaigns/${campaign.id}/${action}`, { method: "POST" });
      refresh();
    } catch (error) { notice(error.message); }
  }

  function query(form) {
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(form)) {
      if (!v) continue;
      const field = form.elements.namedItem(k);
      if (field && field.classList && field.classList.contains("cn-date")) {
        const iso = isoDate(v);
        if (iso === null) throw new Error(`日期“${v}”看不懂，请按“2026年12月3日”的格式填写。`);
        field.value = cnDate(iso);
        params.set(k, iso);
      } else params.set(k, v);
    }
    return params.toString();
  }

  async function loadDepartments() {
    try {
      const select = $("department");
      if (select.options.length > 1) return;  // signed in again: already filled
      const list = await json("/api/v1/org/departments");
      for (const d of list) {
        const option = document.createElement("option");
        option.value = d.id;
        option.textContent = d.short || d.name;
        option.title = d.name;
        select.append(option);
      }
    } catch (error) { notice(error.message); }
  }

  async function loadStats(event) {
    if (event) event.preventDefault();
    notice("");
    try {
      const data = await json(`${API}/stats?${query($("stats-form"))}`);
      const pct = (r) => r === null ? "—" : `${(r * 100).toFixed(1)}%`;
      const row = (name, d, cls = "") => `<tr class="${cls}"><td>${esc(name)}</td><td>${d.satisfied}</td><td>${d.basically_satisfied}</td><td>${d.dissatisfied}</td><td>${d.valid}</td><td>${pct(d.rate)}</td></tr>`;
      $("stats").innerHTML = data.departments.map((d) => row(d.department, d)).join("") + row("全县合计", data.overall, "total");
    } catch (error) { notice(error.message); }
  }

  async function loadResults(event) {
    if (event) event.preventDefault();
    notice("");
    try {
      const rows = await json(`${API}/results?${query($("filters"))}`);
      $("results").innerHTML = rows.map((j) => `<tr><td>${esc(j.ticket_no)}</td><td>${esc(j.department)}</td><td>${esc(j.status_label)}</td>
        <td>${esc(j.outcome_label)}</td><td>${solvedText(j.solved)}</td><td>${esc(j.rating)}</td><td class="reason">${esc(j.reason || j.skip_reason)}</td>
        <td>${j.attempts}</td><td>${when(j.updated_at)}</td><td><button type="button" class="secondary" data-job="${j.id}">详情</button></td></tr>`).join("")
        || `<tr><td colspan="10">没有符合条件的回访。</td></tr>`;
    } catch (error) { notice(error.message); }
  }

  async function showDetail(jobId) {
    try {
      const job = await json(`${API}/jobs/${jobId}`);
      const attempts = job.attempt_log.map((a) => `<li>第${a.number}次 ${when(a.started_at)}（${esc(a.worker)}）：${esc(a.outcome || "进行中")} ${esc(a.detail || "")}</li>`).join("");
      const turns = (job.transcript || []).flatMap((t) => t.turns.map((x) => `<li class="${x.who}">${x.who === "bot" ? "机器人" : "群众"}：${esc(x.text || (x.key ? `按键 ${x.key}` : "（无应答）"))}</li>`)).join("");
      $("detail").innerHTML = `<h3>${esc(job.ticket_no)} 回访详情</h3><p>拨打记录</p><ol>${attempts}</ol><p>通话记录</p><ol>${turns}</ol>`
        + (job.has_recording ? `<p><button type="button" id="play">播放不满意原因录音</button></p>` : "");
      $("detail").hidden = false;
      if (job.has_recording) {
        $("play").onclick = async () => {
          const blob = await (await api(`${API}/jobs/${jobId}/recording`)).blob();
          new Audio(URL.createObjectURL(blob)).play();
        };
      }
    } catch (error) { notice(error.message); }
  }

  async function exportExcel() {
    try {
      const blob = await (await api(`${API}/results.xlsx?${query($("filters"))}`)).blob();
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = `回访结果-${new Date().toISOString().slice(0, 10)}.xlsx`;
      a.click();
    } catch (error) { notice(error.message); }
  }

  async function loadOptouts() {
    try {
      const rows = await json(`${API}/optouts`);
      $("optouts").innerHTML = rows.map((o) => `<li>${esc(o.phone || `工单 #${o.ticket_id}`)}：${esc(o.reason)}（${esc(o.created_by)}，${when(o.created_at)}）
        <button type="button" class="secondary" data-optout="${o.id}">取消</button></li>`).join("") || "<li>暂无登记。</li>";
    } catch (error) { notice(error.message); }
  }

  async function addOptout(event) {
    event.preventDefault();
    const data = Object.fromEntries([...new FormData(event.target)].filter(([, v]) => v));
    try {
      await json(`${API}/optouts`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });
      event.target.reset();
      loadOptouts();
      refresh();
    } catch (error) { notice(error.message); }
  }

  $("start").addEventListener("click", () => campaignAction("start"));
  $("pause").addEventListener("click", () => campaignAction("pause"));
  $("resume").addEventListener("click", () => campaignAction("resume"));
  $("stats-form").addEventListener("submit", loadStats);
  $("filters").addEventListener("submit", loadResults);
  $("export").addEventListener("click", exportExcel);
  $("optout-form").addEventListener("submit", addOptout);
  $("results").addEventListener("click", (e) => { if (e.target.dataset.job) showDetail(e.target.dataset.job); });
  $("optouts").addEventListener("click", async (e) => {
    if (!e.target.dataset.optout) return;
    try { await api(`${API}/optouts/${e.target.dataset.optout}`, { method: "DELETE" }); loadOptouts(); } catch (error) { notice(error.message); }
  });
})();
