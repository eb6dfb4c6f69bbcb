// 数据分析 staff page: KPIs with 环比/同比, charts that drill down to tickets, tables that export to Excel.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const API = "/api/v1/analytics";
  let drillParams = null;
  const charts = {};

  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const pct = (r) => (r === null || r === undefined ? "—" : `${(r * 100).toFixed(1)}%`);
  const change = (r) => (r === null || r === undefined ? "无可比" : `${r >= 0 ? "↑" : "↓"}${Math.abs(r * 100).toFixed(1)}%`);
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;

  // Sign-in, token refresh and logout: the staff pages' shared script (/static/meta/staff.js).
  const session = StaffSession({ page: "analytics", onStart: show, onStop: () => {} });
  const api = session.request;
  const json = session.json;
  const notice = (text) => { $("notice").textContent = text || ""; };

  function period() {
    const p = new URLSearchParams({ start: $("start").value, end: $("end").value });
    if ($("enterprise").checked) p.set("enterprise", "true");
    return p;
  }

  function setPreset() {
    const preset = $("preset").value;
    if (preset === "custom") return;
    const end = new Date($("end").value || Date.now());
    let start = new Date(end);
    if (preset === "week") start.setDate(end.getDate() - ((end.getDay() + 6) % 7));
    if (preset === "month") start = new Date(end.getFullYear(), end.getMonth(), 1);
    if (preset === "quarter") start = new Date(end.getFullYear(), Math.floor(end.getMonth() / 3) * 3, 1);
    $("start").value = iso(start);
    $("end").value = iso(end);
  }

  async function show() {
    try {
      const me = await json("/api/v1/auth/me");
      $("me").textContent = me.full_name || me.username;
    } catch (error) { $("login-error").textContent = error.message; return; }
    session.shown();
    const params = new URLSearchParams(location.search);  // ?start=…&end=… opens a chosen period
    $("end").value = params.get("end") || iso(new Date());
    if (params.get("start")) { $("start").value = params.get("start"); $("preset").value = "custom"; } else setPreset();
    load();
  }

  const KPIS = [
    ["total", "受理量", null], ["response_rate", "响应率", "sign_late"], ["on_time_rate", "按时办结率", "late"],
    ["resolution_rate", "解决率", null], ["satisfaction_rate", "满意率", "dissatisfied"], ["return_rate", "退单率", "returned"],
    ["repeat_rate", "重复诉求率", "repeat"], ["overdue", "超期件", "overdue"],
  ];

  function kpis(s) {
    $("kpis").innerHTML = KPIS.map(([k, label, measure]) => {
      const value = k === "total" || k === "overdue" ? s[k] : pct(s[k]);
      const sub = k === "total" ? `环比${change(s.change.previous)} 同比${change(s.change.same_period_last_year)}`
        : `上期${k === "overdue" ? s.previous[k] : pct(s.previous[k])} 去年${k === "overdue" ? s.same_period_last_year[k] : pct(s.same_period_last_year[k])}`;
      return `<div class="kpi" data-kpi="${k}" data-measure="${measure || ""}"><b>${value}</b><span>${label}</span><small>${sub}</small></div>`;
    }).join("");
    $("formulas").innerHTML = Object.values(s.formulas).map((f) => `<li>${esc(f)}</li>`).join("");
  }

  function chart(id, option, dim) {
    if (!charts[id]) {
      charts[id] = echarts.init($(id));
      charts[id].on("click", (e) => { if (e.data && e.data.key !== undefined) drill({ dim: e.data.dim, key: e.data.key }, `${e.data.title}：${e.name}`); });
    }
    charts[id].setOption(option, true);
    charts[id].dim = dim;
  }

  const items = (groups, dim, title) => groups.map((g) => ({ name: g.label, value: g.total, key: g.key, dim, title }));

  function bar(id, title, groups, dim, horizontal = false) {
    const data = items(groups.slice(0, 12), dim, title);
    const names = data.map((d) => d.name);
    const axis = { type: "category", data: names, axisLabel: { interval: 0, fontSize: 11, rotate: horizontal ? 0 : 30 } };
    chart(id, {
      title: { text: title, textStyle: { fontSize: 13 } }, tooltip: {}, grid: { left: horizontal ? 110 : 40, right: 16, bottom: 60, top: 36 },
      xAxis: horizontal ? { type: "value" } : axis, yAxis: horizontal ? { ...axis, inverse: true } : { type: "value" },
      series: [{ type: "bar", data, itemStyle: { color: "#1f5fa8" } }],
    }, dim);
  }

  function pie(id, title, groups, dim) {
    chart(id, {
      title: { text: title, textStyle: { fontSize: 13 } }, tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["35%", "65%"], top: 20, data: items(groups, dim, title), label: { fontSize: 11 } }],
    }, dim);
  }

  async function load(event) {
    if (event) event.preventDefault();
    notice("");
    const p = period();
    try {
      const [s, trend, channel, type, hour, category, town, department] = await Promise.all([
        json(`${API}/summary?${p}`),
        ...["day", "channel", "demand_type", "hour", "category1", "town", "department"].map((g) => json(`${API}/summary?${p}&group_by=${g}`)),
      ]);
      kpis(s);
      const days = trend.groups;
      chart("chart-trend", {
        title: { text: "每日受理量", textStyle: { fontSize: 13 } }, tooltip: { trigger: "axis" }, grid: { left: 40, right: 16, top: 36, bottom: 30 },
        xAxis: { type: "category", data: days.map((g) => g.key) }, yAxis: { type: "value" },
        series: [{ type: "line", smooth: true, data: days.map((g) => ({ value: g.total, key: g.key, dim: "day", title: "受理日期" })), itemStyle: { color: "#c8102e" } }],
      }, "day");
      pie("chart-channel", "渠道", channel.groups, "channel");
      pie("chart-type", "诉求类型", type.groups, "demand_type");
      bar("chart-hour", "来电时段", hour.groups, "hour");
      bar("chart-category", "一级分类", category.groups, "category1", true);
      bar("chart-town", "镇（街道）", town.groups, "town", true);
      bar("chart-department", "承办单位", department.groups, "department", true);
      await Promise.all([loadSummary(), loadRanking(), loadHotspots(), loadWarnings()]);
    } catch (error) { notice(error.message); }
  }

  const rateCells = (g) => `<td>${g.total}</td><td>${pct(g.response_rate)}</td><td>${pct(g.on_time_rate)}</td><td>${pct(g.resolution_rate)}</td>
    <td>${pct(g.satisfaction_rate)}</td><td>${pct(g.return_rate)}</td><td>${pct(g.repeat_rate)}</td><td>${g.overdue}</td>`;

  async function loadSummary() {
    const dim = $("group").value;
    $("group-label").textContent = $("group").selectedOptions[0].textContent;
    const s = await json(`${API}/summary?${period()}&group_by=${dim}`);
    $("summary").innerHTML = s.groups.map((g) => `<tr class="click" data-dim="${dim}" data-key="${esc(g.key)}" data-label="${esc(g.label)}"><td>${esc(g.label)}</td>${rateCells(g)}</tr>`).join("")
      + `<tr class="total"><td>合计</td>${rateCells(s)}</tr>`;
  }

  async function loadRanking() {
    const by = $("rank-by").value;
    const rows = await json(`${API}/ranking?${period()}&by=${by}`);
    $("ranking").innerHTML = rows.map((r) => `<tr class="click" data-dim="${by}" data-key="${esc(r.key)}" data-label="${esc(r.label)}"><td>${r.rank}</td><td>${esc(r.label)}</td>
      <td>${pct(r.score)}</td><td>${pct(r.response_rate)}</td><td>${pct(r.on_time_rate)}</td><td>${pct(r.satisfaction_rate)}</td><td>${r.total}</td><td>${r.overdue}</td></tr>`).join("")
      || `<tr><td colspan="8">本期没有数据。</td></tr>`;
  }

  async function loadHotspots() {
    const spots = await json(`${API}/hotspots?${period()}`);
    $("hotspots").innerHTML = spots.map((h, i) => `<tr class="click" data-hotspot="${i}"><td class="${h.burst ? "burst" : ""}">${esc(h.title)}${h.burst ? "（突发）" : ""}</td>
      <td>${h.count}</td><td>${esc(h.trend)}</td><td>${h.baseline_count}</td><td>${h.last_year_count ?? "—"}</td>
      <td>${esc(h.places.map((p) => `${p.place}（${p.count}）`).join("、"))}</td><td>${esc(h.department || "")}</td>
      <td><button type="button" class="secondary" data-report="${i}">热点专报</button></td></tr>`).join("") || `<tr><td colspan="8">本期没有集中性热点。</td></tr>`;
    $("hotspots").spots = spots;
  }

  async function loadWarnings() {
    const rows = await json(`${API}/warnings`);
    $("warnings").innerHTML = rows.slice(0, 50).map((w) => `<tr><td>${esc(w.created_at)}</td><td class="text" title="${esc(w.detail)}">${esc(w.title)}</td>
      <td>${esc(w.department || "")}</td><td>${w.count}</td><td>${w.acknowledged_at ? `已签收（${esc(w.acknowledged_by)}）` : "未签收"}</td>
      <td>${w.acknowledged_at ? "" : `<button type="button" class="secondary" data-ack="${w.id}">签收</button>`}
      <button type="button" class="secondary" data-warning-tickets="${esc(w.ticket_nos.join(","))}">工单</button></td></tr>`).join("")
      || `<tr><td colspan="6">暂无预警。</td></tr>`;
  }

  async function drill(params, title) {
    drillParams = params;
    try {
      const data = await json(`${API}/tickets?${period()}&${new URLSearchParams(params)}&limit=200`);
      $("drill-title").textContent = `工单明细：${title}（${data.total}件）`;
      $("drill").innerHTML = data.items.map((t) => `<tr><td>${esc(t.ticket_no)}</td><td>${esc(t.created_at)}</td><td>${esc(t.channel)}</td><td>${esc(t.demand_type)}</td>
        <td>${esc(t.category)}</td><td>${esc(t.town)}</td><td>${esc(t.department)}</td><td>${esc(t.status)}${t.overdue ? "（超期）" : ""}</td><td class="text">${esc(t.description)}</td></tr>`).join("")
        || `<tr><td colspan="9">没有工单。</td></tr>`;
      $("drill-card").hidden = false;
      $("drill-card").scrollIntoView({ block: "start" });
    } catch (error) { notice(error.message); }
  }

  async function download(path, name) {
    try {
      const blob = await (await api(path)).blob();
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = name;
      a.click();
    } catch (error) { notice(error.message); }
  }

  function exportTable(table) {
    const p = period();
    p.set("table", table);
    if (table === "summary") p.set("group_by", $("group").value);
    if (table === "ranking") p.set("by", $("rank-by").value);
    if (table === "tickets" && drillParams) for (const [k, v] of Object.entries(drillParams)) p.set(k, v);
    download(`${API}/export.xlsx?${p}`, `数据分析-${table}-${$("start").value}至${$("end").value}.xlsx`);
  }

  document.addEventListener("click", async (event) => {
    const el = event.target.closest("[data-export],[data-ack],[data-report],[data-warning-tickets],[data-hotspot],[data-dim],.kpi");
    if (!el) return;
    if (el.dataset.export) return exportTable(el.dataset.export);
    if (el.dataset.ack) {
      const note = prompt("签收意见（已采取的措施）：") || "";
      try { await json(`${API}/warnings/${el.dataset.ack}/ack`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ note }) }); loadWarnings(); }
      catch (error) { notice(error.message); }
      return;
    }
    if (el.dataset.report !== undefined) {
      event.stopPropagation();
      const h = $("hotspots").spots[Number(el.dataset.report)];
      const p = period();
      p.set("terms", h.terms.join(" "));
      return download(`${API}/reports/hotspot.docx?${p}`, `热点分析专报-${h.terms[0] || "热点"}.docx`);
    }
    if (el.dataset.warningTickets !== undefined) {
      const p = new URLSearchParams({ tickets: el.dataset.warningTickets });
      return drill(Object.fromEntries(p), "预警涉及工单");
    }
    if (el.dataset.hotspot !== undefined) {
      const h = $("hotspots").spots[Number(el.dataset.hotspot)];
      return drill({ tickets: h.tickets.join(",") }, h.title);
    }
    if (el.dataset.dim) return drill({ dim: el.dataset.dim, key: el.dataset.key }, el.dataset.label);
    if (el.classList.contains("kpi") && el.dataset.measure) return drill({ measure: el.dataset.measure }, el.querySelector("span").textContent);
  });

  $("period").addEventListener("submit", load);
  $("preset").addEventListener("change", () => { setPreset(); load(); });
  $("group").addEventListener("change", () => loadSummary().catch((e) => notice(e.message)));
  $("rank-by").addEventListener("change", () => loadRanking().catch((e) => notice(e.message)));
  $("run-warnings").addEventListener("click", async () => {
    try { const c = await json(`${API}/warnings/run`, { method: "POST" }); notice(`新增预警：${Object.values(c).reduce((a, b) => a + b, 0)} 条`); loadWarnings(); }
    catch (error) { notice(error.message); }
  });
  $("monthly").addEventListener("click", () => {
    const month = $("end").value.slice(0, 7);
    download(`${API}/reports/monthly.docx?month=${month}`, `${month}月度诉求分析报告.docx`);
  });
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
})();
