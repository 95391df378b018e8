using SecureFedRec.Privacy.Accounting;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Privacy.Tests.Disclosure;
using static SecureFedRec.Privacy.Tests.Consent.RoundConsentCheckTests;
using static SecureFedRec.Privacy.Tests.Disclosure.DisclosureTestSupport;

namespace SecureFedRec.Privacy.Tests.Consent;

/// <summary>The client round's calls in order: Check → Reserve → MarkDisclosed | Release (ClientPrivacyGuard).</summary>
public sealed class ConsentFlowTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sfr-consent-" + Guid.NewGuid().ToString("N"));
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));

    public ConsentFlowTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string NewPath() => Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".jsonl");

    private FilePrivacyLedger Ledger(string? path = null, double budget = 100) => FilePrivacyLedger.Open(path ?? NewPath(), new PrivacyBudget(budget, 1e-5), _clock);

    [Fact]
    public void The_happy_path_reserves_before_sending_and_charges_at_disclosure()
    {
        var path = NewPath();
        using (var ledger = Ledger(path))
        {
            var guard = new ClientPrivacyGuard(ConsentPolicy(), ledger);
            var check = guard.Check(Offer());
            Assert.True(check.Accepted, check.Message);
            Assert.Empty(ledger.Reservations);

            var (decision, mechanism) = guard.Reserve(Offer());
            Assert.True(decision.Accepted, decision.Message);
            Assert.NotNull(mechanism);
            Assert.Equal(ReservationState.Pending, Assert.Single(ledger.Reservations).State);
            Assert.Equal(decision.TotalAfter, ledger.TotalEpsilon, 12);

            Assert.Equal(LedgerOutcome.Disclosed, guard.MarkDisclosed("r1").Outcome);
        }

        using var reopened = Ledger(path);
        Assert.Equal(ReservationState.Disclosed, Assert.Single(reopened.Reservations).State);
        Assert.Empty(new ClientPrivacyGuard(ConsentPolicy(), reopened).RecoveredReservations);
    }

    [Fact]
    public void An_abort_before_disclosure_refunds_and_an_abort_after_it_does_not()
    {
        using var ledger = Ledger();
        var guard = new ClientPrivacyGuard(ConsentPolicy(), ledger);
        guard.Reserve(Offer("r1"));
        Assert.Equal(LedgerOutcome.Released, guard.Release("r1", keysAdvertised: true, "coordinator aborted in ShareKeys").Outcome);
        Assert.Equal(0, ledger.TotalEpsilon);

        guard.Reserve(Offer("r2"));
        guard.MarkDisclosed("r2");
        var charged = ledger.TotalEpsilon;
        Assert.Equal(LedgerOutcome.AbortRecorded, guard.Release("r2", keysAdvertised: true, "coordinator aborted in Unmasking").Outcome);
        Assert.Equal(charged, ledger.TotalEpsilon, 12);
        Assert.True(charged > 0);
    }

    [Fact]
    public void A_declined_offer_writes_nothing_and_hands_out_no_mechanism()
    {
        var path = NewPath();
        using var ledger = Ledger(path);
        var guard = new ClientPrivacyGuard(ConsentPolicy(), ledger);
        var length = new FileInfo(path).Length;
        var (d, m) = guard.Reserve(Offer() with { Threshold = 6 });
        Assert.Equal(DeclineReason.ThresholdNotBound, d.Reason);
        Assert.Null(m);
        Assert.Equal(length, new FileInfo(path).Length);
        Assert.Empty(ledger.Reservations);
    }

    public static TheoryData<string> UsedRoundIds => new() { "pending", "disclosed", "released", "legacy-charged" };

    [Theory]
    [MemberData(nameof(UsedRoundIds))]
    public void A_round_id_is_consented_to_once_whatever_became_of_it(string state)
    {
        using var ledger = Ledger();
        var guard = new ClientPrivacyGuard(ConsentPolicy(), ledger);
        if (state == "legacy-charged")
        {
            Assert.True(guard.Consent(new RoundAnnouncement("r1", Plan(), ThreatMode.SemiMalicious, Eps(Plan()))).Decision.Accepted);
        }
        else
        {
            guard.Reserve(Offer());
            if (state == "disclosed")
            {
                guard.MarkDisclosed("r1");
            }
            else if (state == "released")
            {
                guard.Release("r1", keysAdvertised: false, "declined");
            }
        }

        Assert.Equal(DeclineReason.RoundAlreadyContributed, guard.Check(Offer()).Reason);
        var (d, m) = guard.Reserve(Offer());
        Assert.Equal(DeclineReason.RoundAlreadyContributed, d.Reason);
        Assert.Equal("round-once", d.Rule);
        Assert.Null(m);
    }

    [Fact]
    public void Pending_reservations_count_against_the_budget()
    {
        using var ledger = Ledger(budget: (Eps(Plan(), 2) + Eps(Plan(), 3)) / 2);
        var guard = new ClientPrivacyGuard(ConsentPolicy(), ledger);
        Assert.True(guard.Reserve(Offer("r1")).Decision.Accepted);
        Assert.True(guard.Reserve(Offer("r2")).Decision.Accepted);
        var d = guard.Check(Offer("r3"));
        Assert.Equal(DeclineReason.BudgetExceeded, d.Reason);
        Assert.Equal("budget", d.Rule);
        guard.Release("r2", keysAdvertised: false, "declined");
        Assert.True(guard.Check(Offer("r3")).Accepted);
    }

    [Fact]
    public void Reserve_re_checks_what_an_earlier_check_accepted()
    {
        using var ledger = Ledger(budget: (Eps(Plan()) + Eps(Plan(), 2)) / 2);
        var guard = new ClientPrivacyGuard(ConsentPolicy(), ledger);
        Assert.True(guard.Check(Offer("r1")).Accepted);
        Assert.True(guard.Check(Offer("r2")).Accepted);
        Assert.True(guard.Reserve(Offer("r2")).Decision.Accepted);
        var (d, m) = guard.Reserve(Offer("r1"));
        Assert.Equal(DeclineReason.BudgetExceeded, d.Reason);
        Assert.Null(m);
    }

    [Fact]
    public void The_policy_maximum_applies_even_under_a_larger_ledger_budget()
    {
        using var ledger = Ledger(budget: 100);
        var guard = new ClientPrivacyGuard(ConsentPolicy() with { MaxTotalEpsilon = Eps(Plan()) / 2 }, ledger);
        var d = guard.Reserve(Offer()).Decision;
        Assert.Equal(DeclineReason.BudgetExceeded, d.Reason);
        Assert.Empty(ledger.Reservations);
    }

    [Fact]
    public void After_max_aborted_rounds_in_the_window_the_client_refuses_until_the_window_slides()
    {
        using var ledger = Ledger();
        var policy = ConsentPolicy() with { MaxAbortedRounds = 2, AbortWindow = TimeSpan.FromHours(1) };
        var guard = new ClientPrivacyGuard(policy, ledger);

        // Declined before sending anything: not an abort after key advertisement.
        guard.Reserve(Offer("a0"));
        guard.Release("a0", keysAdvertised: false, "transport failed before AdvertiseKeys");
        for (var i = 1; i <= 2; i++)
        {
            Assert.True(guard.Reserve(Offer($"a{i}")).Decision.Accepted);
            guard.Release($"a{i}", keysAdvertised: true, "coordinator aborted after AdvertiseKeys");
            _clock.Advance(TimeSpan.FromMinutes(10));
        }

        var (d, m) = guard.Reserve(Offer("a3"));
        Assert.Equal(DeclineReason.TooManyAbortedRounds, d.Reason);
        Assert.Equal("abort-limit", d.Rule);
        Assert.Null(m);

        _clock.Advance(TimeSpan.FromMinutes(41)); // the first abort (at 0 min) has left the 1 h window
        Assert.True(guard.Check(Offer("a3")).Accepted);
    }

    [Fact]
    public void Aborts_after_disclosure_also_count_towards_the_limit_and_survive_a_restart()
    {
        var path = NewPath();
        var policy = ConsentPolicy() with { MaxAbortedRounds = 1 };
        using (var ledger = Ledger(path))
        {
            var guard = new ClientPrivacyGuard(policy, ledger);
            guard.Reserve(Offer("a1"));
            guard.MarkDisclosed("a1");
            guard.Release("a1", keysAdvertised: true, "coordinator aborted in Unmasking");
        }

        using var reopened = Ledger(path);
        Assert.Equal(DeclineReason.TooManyAbortedRounds, new ClientPrivacyGuard(policy, reopened).Check(Offer("a2")).Reason);
    }

    [Fact]
    public void Reservations_left_by_a_crash_are_reported_and_stay_charged()
    {
        var path = NewPath();
        double total;
        using (var ledger = Ledger(path))
        {
            new ClientPrivacyGuard(ConsentPolicy(), ledger).Reserve(Offer("r1"));
            total = ledger.TotalEpsilon;
        }

        using var reopened = Ledger(path);
        var guard = new ClientPrivacyGuard(ConsentPolicy(), reopened);
        Assert.Equal("r1", Assert.Single(guard.RecoveredReservations).RoundId);
        Assert.Equal(LedgerOutcome.RecoveredReservation, guard.Release("r1", keysAdvertised: true, "restart").Outcome);
        Assert.Equal(total, reopened.TotalEpsilon, 12);
    }

    /// <summary>
    /// Issue 10's scenario: the coordinator announces q = 1e-4 and offers 300 rounds. The old guard charged the
    /// amplified ε and accepted all 300 for a tiny total; the client must account at q = 1 and stop at its budget.
    /// </summary>
    [Theory]
    [InlineData("reserve")]
    [InlineData("legacy-consent")]
    public void A_sampling_rate_lie_does_not_stretch_the_budget(string path)
    {
        const int Offered = 300;
        var lie = Plan(q: 1e-4);
        var truth = Plan(q: 1.0);
        var atCertainty = DistributedDiscreteGaussianAccountant.RoundCurve(truth, 7);
        var budget = (atCertainty.Compose(10).ToEpsilon(1e-5).Epsilon + atCertainty.Compose(11).ToEpsilon(1e-5).Epsilon) / 2;

        // The precondition of the attack: at the announced q, all 300 rounds fit the budget many times over.
        var amplified300 = DistributedDiscreteGaussianAccountant.RoundCurve(lie, 7).Compose(Offered).ToEpsilon(1e-5).Epsilon;
        var true300 = atCertainty.Compose(Offered).ToEpsilon(1e-5).Epsilon;
        Assert.True(amplified300 < budget / 2, $"amplified {amplified300} vs budget {budget}");
        Assert.True(true300 > 20 * budget, $"true {true300} vs budget {budget}");

        using var ledger = Ledger(budget: 1000);
        var guard = new ClientPrivacyGuard(ConsentPolicy() with { MaxTotalEpsilon = budget }, ledger);
        var accepted = 0;
        for (var i = 0; i < Offered; i++)
        {
            var id = $"r{i}";
            bool ok;
            if (path == "reserve")
            {
                var (d, _) = guard.Reserve(Offer(id, q: 1e-4));
                ok = d.Accepted;
                if (ok)
                {
                    Assert.True(d.AmplifiedRoundEpsilon < d.RoundEpsilon / 4, d.Message);
                    Assert.Equal(LedgerOutcome.Disclosed, guard.MarkDisclosed(id).Outcome);
                }
                else
                {
                    Assert.Equal(DeclineReason.BudgetExceeded, d.Reason);
                }
            }
            else
            {
                var (d, _) = guard.Consent(new RoundAnnouncement(id, lie, ThreatMode.SemiMalicious, DistributedDiscreteGaussianAccountant.RoundCurve(lie, 7).ToEpsilon(lie.Delta).Epsilon));
                ok = d.Accepted;
                if (!ok)
                {
                    Assert.Equal(DeclineReason.BudgetExceeded, d.Reason);
                }
            }

            accepted += ok ? 1 : 0;
        }

        Assert.Equal(10, accepted);
        Assert.Equal(atCertainty.Compose(10).ToEpsilon(1e-5).Epsilon, ledger.TotalEpsilon, 9);
        Assert.All(ledger.Entries, e => Assert.Equal(1.0, e.Parameters.SamplingRate));
    }

    [Fact]
    public void The_disclosure_api_needs_a_disclosure_ledger()
    {
        var guard = new ClientPrivacyGuard(ConsentPolicy(), new ChargesOnlyLedger());
        Assert.Throws<InvalidOperationException>(() => guard.Check(Offer()));
        Assert.Throws<InvalidOperationException>(() => guard.Reserve(Offer()));
        Assert.Empty(guard.RecoveredReservations);
    }

    /// <summary>A store that keeps only charges (like the coordinator's).</summary>
    private sealed class ChargesOnlyLedger() : PrivacyLedgerBase(new PrivacyBudget(100, 1e-5))
    {
        protected override void Persist(LedgerEntry entry)
        {
        }
    }
}
