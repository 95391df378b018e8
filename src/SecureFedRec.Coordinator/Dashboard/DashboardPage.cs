using System.Globalization;
using System.Net;
using System.Text;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Wire.Operations.V1;

namespace SecureFedRec.Coordinator.Dashboard;

/// <summary>
/// Renders the dashboard page on the server: live figures, ε spent against the budget (inline SVG line chart), rounds
/// over time with survivors per phase (inline SVG bars) and drop reasons, the round table and the model versions. Every
/// value from the store is HTML-encoded; no script runs inline (app.js only refreshes the live figures).
/// </summary>
internal static class DashboardPage
{
    /// <summary>Rounds shown (newest).</summary>
    public const int RoundsShown = 30;

    private static readonly Phase[] Phases = [Phase.AdvertiseKeys, Phase.ShareKeys, Phase.MaskedInput, Phase.ConsistencyCheck, Phase.Unmasking];

    public static string Refused(string message) =>
        Shell("SecureFedRec dashboard", $"<main class=\"refused\"><h1>SecureFedRec dashboard</h1><p id=\"refused\">{E(message)}</p></main>");

    public static string Render(string operatorId, GetStatusResponse s, IReadOnlyList<GetRoundResponse> rounds, ExportLedgerResponse ledger, int waiting)
    {
        var b = new StringBuilder();
        b.Append("<header><h1>SecureFedRec coordinator</h1>")
         .Append(CultureInfo.InvariantCulture, $"<span class=\"who\">operator {E(operatorId[..Math.Min(12, operatorId.Length)])}… · v{E(s.CoordinatorVersion)}</span>")
         .Append("<form method=\"post\" action=\"/dashboard/logout\"><button type=\"submit\">Log out</button></form></header><main>");

        // Live figures: refreshed by app.js from /dashboard/api/live.
        b.Append("<section id=\"live\" class=\"cards\" aria-label=\"Live\">")
         .Append(Card("Round in progress", "live-round", s.CurrentRound == 0 ? "none" : N(s.CurrentRound)))
         .Append(Card("Phase", "live-phase", s.CurrentRound == 0 ? "idle" : s.CurrentPhase.ToString()))
         .Append(Card("Model version", "live-model", N(s.ModelVersion)))
         .Append(Card("ε spent / budget", "live-epsilon", F(s.EpsilonSpent) + " / " + F(s.EpsilonBudget)))
         .Append(Card("Clients waiting", "live-waiting", N((ulong)waiting)))
         .Append(Card("Enrolled clients", "live-enrolled", N(s.EnrolledClients)))
         .Append(Card("Rounds", "live-rounds", $"{s.RoundsTotal} ({s.RoundsCompleted} released, {s.RoundsWithheld} withheld, {s.RoundsAborted} aborted)"))
         .Append(CultureInfo.InvariantCulture, $"<p class=\"updated\">updated <span id=\"live-updated\" data-rounds=\"{s.RoundsTotal}\"></span> · ledger head {s.LedgerCount}:{E(Short(s.LedgerHead))}</p>")
         .Append("</section>");

        b.Append("<section><h2>Privacy budget</h2>").Append(EpsilonChart(ledger)).Append("</section>");
        b.Append("<section><h2>Rounds over time: survivors per phase</h2>").Append(RoundsChart(rounds)).Append("</section>");
        b.Append("<section><h2>Rounds</h2>").Append(RoundsTable(rounds)).Append("</section>");
        b.Append("<section><h2>Model versions</h2>").Append(ModelsTable(ledger)).Append("</section>");
        b.Append("</main>");
        return Shell("SecureFedRec dashboard", b.ToString());
    }

    private static string Shell(string title, string body) =>
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        + $"<title>{E(title)}</title><link rel=\"icon\" href=\"/dashboard/favicon.svg\" type=\"image/svg+xml\"><link rel=\"stylesheet\" href=\"/dashboard/app.css\"><script src=\"/dashboard/app.js\" defer></script></head><body>"
        + body + "</body></html>";

    private static string Card(string label, string id, string value) =>
        $"<div class=\"card\"><div class=\"label\">{E(label)}</div><div class=\"value\" id=\"{id}\">{E(value)}</div></div>";

    /// <summary>Total ε after each charged round, and the budget line.</summary>
    internal static string EpsilonChart(ExportLedgerResponse ledger)
    {
        const int W = 720, H = 260, L = 56, R = 16, T = 16, B = 40;
        double budget = ledger.EpsilonBudget;
        double top = Math.Max(budget, ledger.Ledger.Count == 0 ? 0 : ledger.Ledger.Max(r => r.TotalEpsilon)) * 1.1;
        top = top > 0 ? top : 1;
        int n = ledger.Ledger.Count;
        double X(int i) => L + ((W - L - R) * (n <= 1 ? 0.5 : i / (double)(n - 1)));
        double Y(double e) => T + ((H - T - B) * (1 - (e / top)));
        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"<svg id=\"epsilon-chart\" class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"Epsilon spent against the budget\">");
        b.Append(CultureInfo.InvariantCulture, $"<line class=\"axis\" x1=\"{L}\" y1=\"{H - B}\" x2=\"{W - R}\" y2=\"{H - B}\"/><line class=\"axis\" x1=\"{L}\" y1=\"{T}\" x2=\"{L}\" y2=\"{H - B}\"/>");
        for (int k = 0; k <= 4; k++)
        {
            double e = top * k / 4;
            b.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{L - 6}\" y=\"{Y(e) + 4:F1}\" text-anchor=\"end\">{F(e)}</text>");
        }

        b.Append(CultureInfo.InvariantCulture, $"<line class=\"budget\" x1=\"{L}\" y1=\"{Y(budget):F1}\" x2=\"{W - R}\" y2=\"{Y(budget):F1}\"/>")
         .Append(CultureInfo.InvariantCulture, $"<text class=\"budget-label\" x=\"{W - R}\" y=\"{Y(budget) - 6:F1}\" text-anchor=\"end\">budget ε = {F(budget)} (δ = {ledger.BudgetDelta.ToString("G3", CultureInfo.InvariantCulture)})</text>");
        if (n == 0)
        {
            b.Append(CultureInfo.InvariantCulture, $"<text class=\"empty\" x=\"{W / 2}\" y=\"{H / 2}\" text-anchor=\"middle\">no round charged yet</text>");
        }
        else
        {
            b.Append("<polyline class=\"spent\" points=\"")
             .AppendJoin(' ', ledger.Ledger.Select((r, i) => X(i).ToString("F1", CultureInfo.InvariantCulture) + "," + Y(r.TotalEpsilon).ToString("F1", CultureInfo.InvariantCulture)))
             .Append("\"/>");
            for (int i = 0; i < n; i++)
            {
                LedgerRow r = ledger.Ledger[i];
                b.Append(CultureInfo.InvariantCulture, $"<circle class=\"point\" cx=\"{X(i):F1}\" cy=\"{Y(r.TotalEpsilon):F1}\" r=\"4\"><title>{E(r.RoundId)}: ε {F(r.RoundEpsilon)}, total {F(r.TotalEpsilon)}, {r.ContributingClients} clients</title></circle>");
                if (n <= 20 || i % (n / 10) == 0)
                {
                    b.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{X(i):F1}\" y=\"{H - B + 16}\" text-anchor=\"middle\">{E(r.RoundId.Replace("round-", string.Empty, StringComparison.Ordinal))}</text>");
                }
            }
        }

        b.Append(CultureInfo.InvariantCulture, $"<text class=\"axis-label\" x=\"{(W + L) / 2}\" y=\"{H - 6}\" text-anchor=\"middle\">charged round</text></svg>");
        return b.ToString();
    }

    /// <summary>For each shown round (oldest left): one bar per phase, the survivors (answered) within the expected.</summary>
    internal static string RoundsChart(IReadOnlyList<GetRoundResponse> rounds)
    {
        const int H = 220, T = 16, B = 40, L = 40, Group = 64, Bar = 10;
        List<GetRoundResponse> shown = [.. rounds.OrderBy(r => r.Round.RoundId)];
        int w = L + (Group * Math.Max(shown.Count, 12)) + 16; // a fixed scale up to 12 rounds: one round is not a wall of colour
        uint most = shown.Count == 0 ? 1 : Math.Max(1, shown.Max(r => Math.Max(r.Round.Cohort, r.Phases.Count == 0 ? 0 : r.Phases.Max(p => p.Expected))));
        double Y(double v) => T + ((H - T - B) * (1 - (v / most)));
        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"<svg id=\"rounds-chart\" class=\"chart\" viewBox=\"0 0 {w} {H}\" role=\"img\" aria-label=\"Survivors per phase of each round\">")
         .Append(CultureInfo.InvariantCulture, $"<line class=\"axis\" x1=\"{L}\" y1=\"{H - B}\" x2=\"{w - 8}\" y2=\"{H - B}\"/>")
         .Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{L - 6}\" y=\"{Y(most) + 4:F1}\" text-anchor=\"end\">{most}</text><text class=\"tick\" x=\"{L - 6}\" y=\"{H - B + 4}\" text-anchor=\"end\">0</text>");
        if (shown.Count == 0)
        {
            b.Append(CultureInfo.InvariantCulture, $"<text class=\"empty\" x=\"{w / 2}\" y=\"{H / 2}\" text-anchor=\"middle\">no round yet</text>");
        }

        for (int g = 0; g < shown.Count; g++)
        {
            GetRoundResponse r = shown[g];
            double x0 = L + 8 + (g * Group);
            string outcome = OutcomeClass(r.Round.Outcome);
            if (!r.Observed)
            {
                b.Append(CultureInfo.InvariantCulture, $"<rect class=\"unobserved\" x=\"{x0:F1}\" y=\"{T}\" width=\"{Bar * 5}\" height=\"{H - T - B}\"><title>round {r.Round.RoundId}: opened before this coordinator started ({E(r.Round.Outcome)})</title></rect>");
            }

            foreach (PhaseRecord p in r.Phases)
            {
                int slot = Array.IndexOf(Phases, p.Phase);
                if (slot < 0)
                {
                    continue;
                }

                double x = x0 + (slot * Bar);
                b.Append(CultureInfo.InvariantCulture, $"<rect class=\"expected\" x=\"{x:F1}\" y=\"{Y(p.Expected):F1}\" width=\"{Bar - 2}\" height=\"{Y(0) - Y(p.Expected):F1}\"/>")
                 .Append(CultureInfo.InvariantCulture, $"<rect class=\"survivors phase-{slot}\" x=\"{x:F1}\" y=\"{Y(p.Answered):F1}\" width=\"{Bar - 2}\" height=\"{Y(0) - Y(p.Answered):F1}\"><title>round {r.Round.RoundId} {p.Phase}: {p.Answered} of {p.Expected} answered ({p.DurationSeconds.ToString("F2", CultureInfo.InvariantCulture)} s)</title></rect>");
            }

            b.Append(CultureInfo.InvariantCulture, $"<text class=\"tick {outcome}\" x=\"{x0 + (Bar * 2.5):F1}\" y=\"{H - B + 16}\" text-anchor=\"middle\">{r.Round.RoundId}</text>")
             .Append(CultureInfo.InvariantCulture, $"<text class=\"tick {outcome}\" x=\"{x0 + (Bar * 2.5):F1}\" y=\"{H - B + 30}\" text-anchor=\"middle\">{E(ShortOutcome(r.Round))}</text>");
        }

        b.Append("</svg><p class=\"legend\">");
        for (int i = 0; i < Phases.Length; i++)
        {
            b.Append(CultureInfo.InvariantCulture, $"<span class=\"swatch phase-{i}\"></span>{Phases[i]} ");
        }

        b.Append("<span class=\"swatch expected\"></span>expected</p>");
        return b.ToString();
    }

    private static string RoundsTable(IReadOnlyList<GetRoundResponse> rounds)
    {
        var b = new StringBuilder("<table id=\"rounds-table\"><thead><tr><th>Round</th><th>Opened (UTC)</th><th>Outcome</th><th>Cohort / t</th><th>Survivors by phase</th><th>Drops</th><th>ε round</th><th>ε total</th><th>Model</th></tr></thead><tbody>");
        foreach (GetRoundResponse r in rounds)
        {
            RoundSummary s = r.Round;
            string survivors = r.Observed ? string.Join(" → ", r.Phases.Select(p => $"{p.Answered}/{p.Expected}")) : "not observed";
            string drops = r.Drops.Count == 0 ? (r.Observed ? "none" : "—") : string.Join(", ", r.Drops.Select(d => $"{Reason(d.Reason)} × {d.Count}"));
            b.Append(CultureInfo.InvariantCulture, $"<tr class=\"{OutcomeClass(s.Outcome)}\"><td>{s.RoundId}</td><td>{Time(s.CreatedAtUnixMs)}</td><td>{E(s.Outcome.Length == 0 ? s.Phase + "…" : s.Outcome)}</td>")
             .Append(CultureInfo.InvariantCulture, $"<td>{(s.Cohort == 0 ? "—" : $"{s.Cohort} / {s.Threshold}")}</td><td>{E(survivors)}</td><td>{E(drops)}</td>")
             .Append(CultureInfo.InvariantCulture, $"<td>{(s.RoundEpsilon == 0 ? "—" : F(s.RoundEpsilon))}</td><td>{(s.TotalEpsilon == 0 ? "—" : F(s.TotalEpsilon))}</td><td>{(s.ReleasedVersion == 0 ? "—" : "v" + N(s.ReleasedVersion))}</td></tr>");
        }

        if (rounds.Count == 0)
        {
            b.Append("<tr><td colspan=\"9\">No round yet: a round opens when enough enrolled clients wait.</td></tr>");
        }

        return b.Append("</tbody></table>").ToString();
    }

    private static string ModelsTable(ExportLedgerResponse ledger)
    {
        var b = new StringBuilder("<table id=\"models-table\"><thead><tr><th>Version</th><th>Round</th><th>ε of the round</th><th>Released (UTC)</th><th>Digest (SHA-256)</th><th>Ledger anchor</th></tr></thead><tbody>");
        foreach (ModelVersion m in ledger.Models.Reverse())
        {
            b.Append(CultureInfo.InvariantCulture, $"<tr><td>v{m.Version}</td><td>{(m.RoundId == 0 ? "initial" : N(m.RoundId))}</td><td>{E(m.Epsilon)}</td><td>{Time(m.ReleasedAtUnixMs)}</td><td><code>{E(Short(m.ModelDigest))}</code></td><td><code>{m.LedgerCount}:{E(Short(m.LedgerHead))}</code></td></tr>");
        }

        return b.Append("</tbody></table>").ToString();
    }

    private static string OutcomeClass(string outcome) => outcome switch
    {
        "Completed" => "released",
        "Withheld" => "withheld",
        "" => "open",
        _ => "aborted",
    };

    private static string ShortOutcome(RoundSummary r) => r.Outcome switch
    {
        "Completed" => "released",
        "Withheld" => "withheld",
        "" => r.Phase,
        _ => "aborted",
    };

    private static string Reason(DropReason reason) => reason switch
    {
        DropReason.TimedOut => "timed out",
        DropReason.Malformed => "malformed",
        DropReason.BadSignature => "bad signature",
        DropReason.BadKey => "bad key",
        DropReason.BadShare => "bad share",
        DropReason.ClientAborted => "client aborted",
        DropReason.WrongRound => "wrong round",
        _ => reason.ToString(),
    };

    private static string Short(string hash) => hash.Length > 16 ? hash[..16] + "…" : hash;

    private static string Time(ulong unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds((long)unixMs).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static string N(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    private static string E(string value) => WebUtility.HtmlEncode(value);
}
