namespace SecureFedRec.Coordinator.Dashboard;

/// <summary>The dashboard's script and style sheet (served from the coordinator itself: no CDN, nothing inline).</summary>
internal static class DashboardAssets
{
    /// <summary>Refreshes the live figures every 2 s; reloads the page when a round finished (charts and tables change).</summary>
    public const string Script = """
        "use strict";
        (function () {
          const set = (id, text) => { const el = document.getElementById(id); if (el) { el.textContent = text; } };
          const marker = document.getElementById("live-updated");
          if (!marker) { return; }
          const rounds = Number(marker.dataset.rounds);
          async function refresh() {
            try {
              const response = await fetch("/dashboard/api/live", { credentials: "same-origin", cache: "no-store" });
              if (response.status === 401) { window.location.reload(); return; }
              if (!response.ok) { set("live-updated", "error " + response.status); return; }
              const live = await response.json();
              set("live-round", live.round === 0 ? "none" : String(live.round));
              set("live-phase", live.phase);
              set("live-model", String(live.modelVersion));
              set("live-epsilon", live.epsilonSpent.toFixed(3).replace(/\.?0+$/, "") + " / " + live.epsilonBudget);
              set("live-waiting", String(live.waiting));
              set("live-enrolled", String(live.enrolled));
              set("live-updated", new Date(live.serverTimeUnixMs).toISOString().replace("T", " ").slice(0, 19) + " UTC");
              if (live.roundsTotal !== rounds && live.round === 0) { window.location.reload(); }
            } catch (e) {
              set("live-updated", "coordinator unreachable");
            }
          }
          refresh();
          setInterval(refresh, 2000);
        })();
        """;

    /// <summary>The tab icon (without it the browser asks for /favicon.ico, which the dashboard listener does not serve).</summary>
    public const string Icon = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#1f6feb\"/><path d=\"M4 11l3-3 2 2 3-5\" stroke=\"#fff\" stroke-width=\"1.6\" fill=\"none\"/></svg>";

    public const string Style = """
        :root { --fg: #1d2433; --muted: #5b6475; --line: #d5d9e0; --accent: #1f6feb; --warn: #b54708; --bad: #b42318; --ok: #067647; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: #f6f7f9; }
        header { display: flex; align-items: center; gap: 16px; padding: 12px 24px; background: #fff; border-bottom: 1px solid var(--line); }
        header h1 { font-size: 18px; margin: 0; flex: 1; }
        .who { color: var(--muted); }
        main { padding: 16px 24px; max-width: 1200px; }
        section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; }
        h2 { font-size: 15px; margin: 0 0 8px; }
        .cards { display: flex; flex-wrap: wrap; gap: 12px; }
        .card { min-width: 150px; padding: 8px 12px; border: 1px solid var(--line); border-radius: 6px; }
        .card .label { color: var(--muted); font-size: 12px; }
        .card .value { font-size: 18px; font-weight: 600; }
        .updated { width: 100%; margin: 0; color: var(--muted); font-size: 12px; }
        .chart { width: 100%; max-width: 960px; height: auto; }
        .axis { stroke: var(--muted); stroke-width: 1; }
        .tick, .axis-label, .budget-label, .empty { fill: var(--muted); font-size: 11px; }
        .budget { stroke: var(--bad); stroke-width: 1.5; stroke-dasharray: 6 4; }
        .budget-label { fill: var(--bad); }
        .spent { fill: none; stroke: var(--accent); stroke-width: 2; }
        .point { fill: var(--accent); }
        .expected { fill: #eef0f3; stroke: var(--line); }
        .unobserved { fill: #f2f2f2; stroke: var(--line); stroke-dasharray: 3 3; }
        .phase-0 { fill: #1f6feb; background: #1f6feb; } .phase-1 { fill: #7a5af8; background: #7a5af8; }
        .phase-2 { fill: #0e9384; background: #0e9384; } .phase-3 { fill: #dc6803; background: #dc6803; }
        .phase-4 { fill: #c11574; background: #c11574; }
        .swatch { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px; border: 1px solid var(--line); }
        .swatch.expected { background: #eef0f3; }
        .legend { color: var(--muted); font-size: 12px; margin: 4px 0 0; }
        text.aborted { fill: var(--bad); } text.withheld { fill: var(--warn); } text.released { fill: var(--ok); }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
        th { color: var(--muted); font-weight: 600; font-size: 12px; }
        tr.aborted td:nth-child(3) { color: var(--bad); } tr.withheld td:nth-child(3) { color: var(--warn); } tr.released td:nth-child(3) { color: var(--ok); }
        .refused { max-width: 640px; margin: 48px auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 24px; }
        button { font: inherit; padding: 4px 12px; }
        """;
}
