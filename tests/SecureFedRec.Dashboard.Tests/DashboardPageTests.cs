using SecureFedRec.Coordinator.Dashboard;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Wire.Operations.V1;

namespace SecureFedRec.Dashboard.Tests;

/// <summary>The page as rendered on the server: drops, unobserved rounds, empty stores, and encoding of stored text.</summary>
public sealed class DashboardPageTests
{
    private static GetStatusResponse Status => new() { CoordinatorVersion = "test", EpsilonBudget = 10, BudgetDelta = 1e-5, LedgerHead = new string('0', 64) };

    private static GetRoundResponse Round(ulong id, string outcome, bool observed, params (DropReason Reason, uint Count)[] drops)
    {
        var r = new GetRoundResponse { Round = new RoundSummary { RoundId = id, Phase = "Aborted", Outcome = outcome, Cohort = observed ? 3u : 0, Threshold = observed ? 2u : 0 }, Observed = observed };
        if (observed)
        {
            r.Phases.Add(new PhaseRecord { Phase = Phase.AdvertiseKeys, Expected = 3, Answered = 3 });
            r.Phases.Add(new PhaseRecord { Phase = Phase.ShareKeys, Expected = 3, Answered = 1 });
        }

        r.Drops.AddRange(drops.Select(d => new DropCount { Reason = d.Reason, Count = d.Count }));
        return r;
    }

    [Fact]
    public void Drops_are_shown_by_reason_and_survivors_per_phase()
    {
        string html = DashboardPage.Render("ab12", Status, [Round(4, "AbortedTooFewClients", true, (DropReason.TimedOut, 2))], new ExportLedgerResponse { EpsilonBudget = 10 }, 0);
        Assert.Contains("3/3 → 1/3", html, StringComparison.Ordinal);
        Assert.Contains("timed out &#215; 2", html, StringComparison.Ordinal);
        Assert.Contains("round 4 ShareKeys: 1 of 3 answered", html, StringComparison.Ordinal);
        Assert.Contains("<tr class=\"aborted\">", html, StringComparison.Ordinal);
    }

    [Fact]
    public void A_round_opened_before_a_restart_is_marked_not_observed()
    {
        string html = DashboardPage.Render("ab12", Status, [Round(2, "AbortedByRestart", false)], new ExportLedgerResponse { EpsilonBudget = 10 }, 0);
        Assert.Contains("not observed", html, StringComparison.Ordinal);
        Assert.Contains("class=\"unobserved\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_coordinator_renders_empty_charts()
    {
        string html = DashboardPage.Render("ab12", Status, [], new ExportLedgerResponse { EpsilonBudget = 10 }, 0);
        Assert.Contains("no round charged yet", html, StringComparison.Ordinal);
        Assert.Contains("no round yet", html, StringComparison.Ordinal);
        Assert.Contains("No round yet: a round opens when enough enrolled clients wait.", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;")]
    [InlineData("\"><img src=x onerror=alert(1)>", "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;")]
    public void Stored_text_is_html_encoded(string outcome, string encoded)
    {
        string html = DashboardPage.Render("ab12", Status, [Round(1, outcome, true)], new ExportLedgerResponse { EpsilonBudget = 10 }, 0);
        Assert.DoesNotContain(outcome, html, StringComparison.Ordinal);
        Assert.Contains(encoded, html, StringComparison.Ordinal);
    }

    [Fact]
    public void The_epsilon_chart_plots_the_total_after_each_charge_against_the_budget()
    {
        var ledger = new ExportLedgerResponse { EpsilonBudget = 4, BudgetDelta = 1e-5 };
        ledger.Ledger.Add(new LedgerRow { Sequence = 1, RoundId = "round-1", RoundEpsilon = 1.5, TotalEpsilon = 1.5 });
        ledger.Ledger.Add(new LedgerRow { Sequence = 2, RoundId = "round-3", RoundEpsilon = 1.5, TotalEpsilon = 2.5 });
        string svg = DashboardPage.EpsilonChart(ledger);
        Assert.Equal(2, svg.Split("<circle class=\"point\"").Length - 1);
        Assert.Contains("round-3: ε 1.5, total 2.5", svg, StringComparison.Ordinal);
        Assert.Contains("budget ε = 4", svg, StringComparison.Ordinal);
    }
}
