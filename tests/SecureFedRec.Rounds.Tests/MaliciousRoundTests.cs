using SecureFedRec.Crypto;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Roster;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;
using PolicyThreatMode = SecureFedRec.Privacy.Policy.ThreatMode;
using ThreatMode = SecureFedRec.Protocol.Wire.ThreatMode;

namespace SecureFedRec.Rounds.Tests;

/// <summary>
/// The malicious client round (issue 10): every check a client makes of the announced cohort and round before it makes
/// any key or reserves anything, each with its typed reason, and the malicious round completing in process.
/// </summary>
public sealed class MaliciousRoundTests
{
    private const int N = 5;

    private sealed class HostEvents : RoundHostEvents
    {
        public List<RoundFinished> Finished { get; } = [];

        public List<(string Caller, string Reason)> Refused { get; } = [];

        public int HonestButCuriousRounds { get; private set; }

        public override Task OnRoundFinishedAsync(RoundFinished finished, CancellationToken cancellationToken)
        {
            Finished.Add(finished);
            return Task.CompletedTask;
        }

        public override void OnCohortCandidateRefused(string caller, string reason)
        {
            lock (Refused)
            {
                Refused.Add((caller, reason));
            }
        }

        public override void OnHonestButCuriousRound(RoundPlan plan) => HonestButCuriousRounds++;
    }

    [Fact]
    public async Task A_malicious_round_completes_in_process_with_the_cohort_in_the_contract()
    {
        using var consortium = new Consortium(N);
        var events = new HostEvents();
        RoundHost host = MaliciousHarness.Host(consortium, N, new MemoryPrivacyLedger(new PrivacyBudget(1000, 1e-5)), events);
        var ledgers = Enumerable.Range(0, N).Select(_ => new MemoryPrivacyLedger(new PrivacyBudget(1e6, 1e-3))).ToArray();
        ClientRound[] clients = Enumerable.Range(0, N).Select(i => MaliciousHarness.Client(consortium, i, ledgers[i])).ToArray();

        InProcessRoundResult result = await Harness.Run(host, clients);

        Assert.All(result.Clients, r => Assert.Equal(ClientRoundOutcome.Completed, r.Outcome));
        Assert.All(result.Clients, r => Assert.Equal(LedgerOutcome.Disclosed, r.Ledger));
        RoundFinished finished = Assert.Single(events.Finished);
        Assert.Equal(ServerRoundOutcome.Released, finished.Outcome);
        Assert.Equal(ThreatMode.Malicious, finished.Contract.Mode);
        Assert.Equal(consortium.Cohort(N), finished.Contract.Cohort);
        Assert.Equal(0, events.HonestButCuriousRounds);
        Assert.All(ledgers, l =>
        {
            Reservation r = Assert.Single(l.Reservations);
            Assert.Equal(ReservationState.Disclosed, r.State);
            Assert.Equal(1.0, r.Parameters.SamplingRate);
            Assert.True(l.TotalEpsilon > 0);
        });
    }

    [Fact]
    public void The_cohort_is_bound_by_the_contract_binding()
    {
        using var consortium = new Consortium(N);
        RoundContract c = MaliciousHarness.Invitation(consortium, N, 1).Contract;
        CohortEntry[] swapped = [.. c.Cohort];
        (swapped[0], swapped[1]) = (swapped[0] with { Organisation = swapped[1].Organisation, ClientId = swapped[1].ClientId },
            swapped[1] with { Organisation = swapped[0].Organisation, ClientId = swapped[0].ClientId });
        Assert.False(c.Binding().AsSpan().SequenceEqual((c with { Cohort = swapped }).Binding()));
        Assert.False(c.Binding().AsSpan().SequenceEqual((c with { Cohort = [.. c.Cohort.Take(N - 1), c.Cohort[^1] with { ClientId = "client-9" }] }).Binding()));
        Assert.True(c.Binding().AsSpan().SequenceEqual((c with { Cohort = [.. c.Cohort] }).Binding()));
        Assert.Null(c.Check());
        Assert.NotNull((c with { Cohort = [] }).Check());
        Assert.NotNull((c with { Cohort = c.Cohort.Take(N - 1).ToArray() }).Check());
    }

    public static TheoryData<string, ClientRoundReason, RosterRefusal, DeclineReason> Refusals => new()
    {
        { "no-identity", ClientRoundReason.MaliciousModeUnsupported, RosterRefusal.None, DeclineReason.None },
        { "no-roster-provider", ClientRoundReason.MaliciousModeUnsupported, RosterRefusal.None, DeclineReason.None },
        { "unknown-authority", ClientRoundReason.RosterRefused, RosterRefusal.UnknownAuthority, DeclineReason.None },
        { "tampered-roster", ClientRoundReason.RosterRefused, RosterRefusal.BadSignature, DeclineReason.None },
        { "expired-roster", ClientRoundReason.RosterRefused, RosterRefusal.RosterExpired, DeclineReason.None },
        { "sybil", ClientRoundReason.CohortRefused, RosterRefusal.NotInRoster, DeclineReason.None },
        { "revoked-member", ClientRoundReason.CohortRefused, RosterRefusal.Revoked, DeclineReason.None },
        { "duplicate-member", ClientRoundReason.CohortRefused, RosterRefusal.DuplicateCohortMember, DeclineReason.None },
        { "too-few-organisations", ClientRoundReason.CohortRefused, RosterRefusal.TooFewOrganisations, DeclineReason.None },
        { "policy-organisations", ClientRoundReason.PolicyDeclined, RosterRefusal.None, DeclineReason.TooFewOrganisations },
        { "own-entry-wrong", ClientRoundReason.OwnEntryMismatch, RosterRefusal.None, DeclineReason.None },
        { "key-substitution", ClientRoundReason.IdentityKeyMismatch, RosterRefusal.None, DeclineReason.None },
        { "cohort-not-listed", ClientRoundReason.InvalidContract, RosterRefusal.None, DeclineReason.None },
        { "cohort-other-ids", ClientRoundReason.ContractMismatch, RosterRefusal.None, DeclineReason.None },
        { "t-too-low", ClientRoundReason.PolicyDeclined, RosterRefusal.None, DeclineReason.MaliciousThresholdTooLow },
        { "t-not-the-plan", ClientRoundReason.ContractMismatch, RosterRefusal.None, DeclineReason.None },
        { "n-resize", ClientRoundReason.ContractMismatch, RosterRefusal.None, DeclineReason.None },
        { "honest-but-curious-without-opt-in", ClientRoundReason.PolicyDeclined, RosterRefusal.None, DeclineReason.HonestButCuriousNotOptedIn },
        { "sampling-rate-lie-over-budget", ClientRoundReason.PolicyDeclined, RosterRefusal.None, DeclineReason.BudgetExceeded },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Each_refusal_is_typed_and_happens_before_any_key_update_or_charge(string attack, ClientRoundReason reason, RosterRefusal roster, DeclineReason decline)
    {
        using var consortium = new Consortium(N);
        using var revoked = new Consortium(N, edit: draft =>
        {
            Assert.True(RosterAuthority.Revoke(draft, "org-b", "client-4", DateTimeOffset.UtcNow.AddMinutes(-1), out RosterContent updated).Passed);
            return updated;
        });
        using var other = new Consortium(N, seed: 99);
        using var stranger = IdentitySigningKey.Generate(IdentitySuite.Ed25519, new DeterministicRandomSource(Harness.Seed("stranger", 1)));
        ClientPrivacyPolicy policy = MaliciousHarness.Policy();
        var ledger = new MemoryPrivacyLedger(new PrivacyBudget(policy.MaxTotalEpsilon, policy.Delta));
        RoundInvitation invitation = MaliciousHarness.Invitation(consortium, N, 1);
        ClientRound client;
        ClientRound Client(ClientPrivacyPolicy? p = null, bool noIdentity = false, IdentitySigningKey? identity = null, MemberName? self = null,
            Func<CancellationToken, Task<RosterVerification>>? rosterOf = null, CohortPolicy? cohortPolicy = null)
        {
            ledger = new MemoryPrivacyLedger(new PrivacyBudget((p ?? policy).MaxTotalEpsilon, (p ?? policy).Delta));
            return MaliciousHarness.Client(consortium, 0, ledger, p ?? policy, noIdentity: noIdentity, identity: identity, self: self, roster: rosterOf,
                cohortPolicy: cohortPolicy);
        }

        switch (attack)
        {
            case "no-identity":
                client = Client(noIdentity: true);
                break;
            case "no-roster-provider":
                ledger = new MemoryPrivacyLedger(new PrivacyBudget(policy.MaxTotalEpsilon, policy.Delta));
                client = new ClientRound(new ClientRoundOptions
                {
                    Guard = new ClientPrivacyGuard(policy, ledger),
                    UpdateSource = (_, _) => Task.FromResult(LocalUpdate.FromTotal(MaliciousHarness.Update(0))),
                    Identity = consortium.Key(0),
                    Self = consortium.Name(0),
                    CohortPolicy = new CohortPolicy(3),
                });
                break;
            case "unknown-authority":
                client = Client(rosterOf: _ => Task.FromResult(consortium.Verifier.Verify(other.File, DateTimeOffset.UtcNow)));
                break;
            case "tampered-roster":
                byte[] file = [.. consortium.File];
                int at = System.Text.Encoding.UTF8.GetString(file).IndexOf("client-3", StringComparison.Ordinal);
                file[at + 7] = (byte)'9';
                client = Client(rosterOf: _ => Task.FromResult(consortium.Verifier.Verify(file, DateTimeOffset.UtcNow)));
                break;
            case "expired-roster":
                client = Client(rosterOf: _ => Task.FromResult(consortium.Verifier.Verify(consortium.File, DateTimeOffset.UtcNow.AddDays(60))));
                break;
            case "sybil":
                invitation = MaliciousHarness.Invitation(consortium, N, 1, contract: c => c with { Cohort = [.. c.Cohort.Take(N - 1), new CohortEntry(N, "org-b", "sybil-1")] });
                client = Client();
                break;
            case "revoked-member":
                invitation = MaliciousHarness.Invitation(revoked, N, 1);
                client = MaliciousHarness.Client(revoked, 0, ledger, policy);
                break;
            case "duplicate-member":
                invitation = MaliciousHarness.Invitation(consortium, N, 1, contract: c => c with { Cohort = [.. c.Cohort.Take(N - 1), c.Cohort[1] with { ClientNumber = N }] });
                client = Client();
                break;
            case "too-few-organisations":
                client = Client(cohortPolicy: new CohortPolicy(4));
                break;
            case "policy-organisations":
                client = Client(p: policy with { MinDistinctOrganisations = 4 });
                break;
            case "own-entry-wrong":
                client = Client(self: consortium.Name(1));
                break;
            case "key-substitution":
                client = Client(identity: stranger);
                break;
            case "cohort-not-listed":
                invitation = MaliciousHarness.Invitation(consortium, N, 1, contract: c => c with { Cohort = [] });
                client = Client();
                break;
            case "cohort-other-ids":
                invitation = MaliciousHarness.Invitation(consortium, N, 1, contract: c => c with { Cohort = c.Cohort.Select(e => e with { ClientNumber = e.ClientNumber + 10 }).ToArray() });
                client = Client();
                break;
            case "t-too-low":
                // A contract and parameters that agree on t = 2 (bound), below the malicious bound 2t > k + 1 = 5.
                invitation = MaliciousHarness.Invitation(consortium, N, 1, contract: c => c with { Dp = c.Dp with { MinClients = 2 } }, parameters: p => p.Threshold = 2);
                client = Client(p: policy with { MinThreshold = 2 });
                break;
            case "t-not-the-plan":
                invitation = MaliciousHarness.Invitation(consortium, N, 1, parameters: p => p.Threshold--);
                client = Client();
                break;
            case "n-resize":
                invitation = MaliciousHarness.Invitation(consortium, N, 1, parameters: p => p.ClientIds.RemoveAt(N - 1));
                client = Client();
                break;
            case "honest-but-curious-without-opt-in":
                invitation = MaliciousHarness.Invitation(consortium, N, 1, settings: Harness.Settings(50), contract: c => c with { Cohort = [] });
                client = Client();
                break;
            case "sampling-rate-lie-over-budget":
                {
                    // The coordinator claims q = 1e-4: amplified, the round would fit the budget; at q = 1 it does not.
                    invitation = MaliciousHarness.Invitation(consortium, N, 1, contract: c => c with { Dp = c.Dp with { SamplingRate = 1e-4 } });
                    RoundOffer offer = Offer(invitation);
                    PolicyDecision full = RoundConsentCheck.Evaluate(policy, offer);
                    Assert.True(full.Accepted, full.Message);
                    Assert.True(full.AmplifiedRoundEpsilon < full.RoundEpsilon / 2, $"amplified {full.AmplifiedRoundEpsilon} vs {full.RoundEpsilon} at q = 1");
                    client = Client(p: policy with { MaxTotalEpsilon = (full.AmplifiedRoundEpsilon + full.RoundEpsilon) / 2 });
                    break;
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(attack), attack, null);
        }

        var coordinator = new ScriptedCoordinator(invitation);
        ClientRoundResult result = await client.RunAsync(coordinator);

        Assert.Equal(ClientRoundOutcome.Declined, result.Outcome);
        Assert.Equal(reason, result.Reason);
        Assert.Equal(roster, result.Roster);
        Assert.Equal(decline, result.Decline);
        Assert.False(string.IsNullOrEmpty(result.Detail));
        Assert.True(coordinator.SentNothingButDecline, "only a ClientAbort may be sent");
        Assert.Single(coordinator.Sent);
        Assert.False(coordinator.ModelFetched, "the update is computed only after consent");
        Assert.Equal(0, ledger.TotalEpsilon);
        Assert.Empty(ledger.Reservations);
        Assert.Empty(ledger.Entries);
        Assert.Equal(0, result.LocalTotalEpsilon);
    }

    [Fact]
    public async Task A_sampling_rate_lie_is_charged_at_q_1_with_the_amplified_figure_recorded_beside_it()
    {
        using var consortium = new Consortium(N);
        RoundInvitation invitation = MaliciousHarness.Invitation(consortium, N, 1, contract: c => c with { Dp = c.Dp with { SamplingRate = 1e-4 } });
        ClientPrivacyPolicy policy = MaliciousHarness.Policy();
        var ledger = new MemoryPrivacyLedger(new PrivacyBudget(policy.MaxTotalEpsilon, policy.Delta));
        PolicyDecision atCertainty = RoundConsentCheck.Evaluate(policy, Offer(invitation) with { Plan = invitation.Contract.AccountingParameters with { SamplingRate = 1 } });
        double pendingEpsilon = double.NaN;
        var coordinator = new ScriptedCoordinator(invitation, onSubmit: _ => pendingEpsilon = ledger.TotalEpsilon);

        ClientRoundResult result = await MaliciousHarness.Client(consortium, 0, ledger, policy).RunAsync(coordinator);

        Assert.Equal(ClientRoundReason.CoordinatorAborted, result.Reason);
        Reservation r = Assert.Single(ledger.Reservations);
        Assert.Equal(1.0, r.Parameters.SamplingRate);
        Assert.Equal(1e-4, r.AnnouncedSamplingRate);
        Assert.Equal(atCertainty.RoundEpsilon, r.RoundEpsilon, 9);
        Assert.True(r.AmplifiedRoundEpsilon < r.RoundEpsilon);
        Assert.Equal(r.RoundEpsilon, pendingEpsilon, 9); // while pending, the round counted at q = 1
    }

    [Fact]
    public async Task A_key_substituted_by_the_coordinator_during_the_round_is_refused_before_the_masked_input()
    {
        using var consortium = new Consortium(N);
        var events = new HostEvents();
        RoundHost host = MaliciousHarness.Host(consortium, N, new MemoryPrivacyLedger(new PrivacyBudget(1000, 1e-5)), events);
        var ledgers = Enumerable.Range(0, N).Select(_ => new MemoryPrivacyLedger(new PrivacyBudget(1e6, 1e-3))).ToArray();
        ClientRound[] clients = Enumerable.Range(0, N).Select(i => MaliciousHarness.Client(consortium, i, ledgers[i])).ToArray();
        var victimSent = new List<ClientToServer.MessageOneofCase>();

        // The coordinator shows client 0 another mask key for client 2 (a key it would know the secret of).
        InProcessRoundResult result = await Harness.Run(host, clients, (i, t) => i != 0 ? t : new ObservingTransport(t,
            beforeSubmit: m => victimSent.Add(m.MessageCase),
            fetched: m =>
            {
                if (m.MessageCase == ServerToClient.MessageOneofCase.ShareKeysRequest)
                {
                    AdvertisedKey key = m.ShareKeysRequest.Keys.Single(k => k.ClientId == 3);
                    byte[] mask = key.MaskPublicKey.ToByteArray();
                    mask[0] ^= 1;
                    key.MaskPublicKey = Google.Protobuf.ByteString.CopyFrom(mask);
                }

                return m;
            }));

        ClientRoundResult victim = result.Clients[0];
        Assert.NotEqual(ClientRoundOutcome.Completed, victim.Outcome);
        Assert.DoesNotContain(ClientToServer.MessageOneofCase.MaskedInput, victimSent);
        Assert.Equal(LedgerOutcome.Released, victim.Ledger);
        Assert.Equal(0, ledgers[0].TotalEpsilon);
    }

    [Fact]
    public async Task The_host_leaves_callers_without_a_roster_identity_or_with_a_taken_one_out_of_a_malicious_cohort()
    {
        using var consortium = new Consortium(N);
        var events = new HostEvents();
        var host = new RoundHost(new RoundHostOptions
        {
            Settings = MaliciousHarness.Settings(),
            CohortSize = 7,
            MinClients = 3,
            Random = new DeterministicRandomSource(Harness.Seed("cohort", 1)),
            IdentityOf = async (caller, ct) => caller switch
            {
                "client-0005" => null, // no roster identity
                "client-0006" => await consortium.IdentityOf("client-0002", ct), // someone else's identity
                _ => await consortium.IdentityOf(caller, ct),
            },
        }, new ModelRelease(1, 0, new double[Harness.Dimension], 0, 0), new MemoryPrivacyLedger(new PrivacyBudget(1000, 1e-5)), new FedAvgRule(), events);
        for (int i = 0; i < 7; i++)
        {
            host.Join(Harness.Caller(i));
        }

        Assert.Equal(RoundHostTick.Opened, await host.TickAsync());

        Assert.Equal(consortium.Cohort(N), host.LastPlan!.Contract.Cohort);
        Assert.Equal(N, host.LastPlan.Contract.Dp.PlannedClients);
        Assert.Equal(["client-0005", "client-0006"], events.Refused.Select(r => r.Caller).Order(StringComparer.Ordinal));
        Assert.Contains(events.Refused, r => r.Reason.StartsWith("roster-identity", StringComparison.Ordinal));
        Assert.Contains(events.Refused, r => r.Reason.StartsWith("cohort-unique", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_host_without_roster_identities_opens_no_malicious_round()
    {
        var events = new HostEvents();
        var host = new RoundHost(new RoundHostOptions
        {
            Settings = MaliciousHarness.Settings(),
            CohortSize = 3,
            Random = new DeterministicRandomSource(Harness.Seed("cohort", 1)),
        }, new ModelRelease(1, 0, new double[Harness.Dimension], 0, 0), new MemoryPrivacyLedger(new PrivacyBudget(1000, 1e-5)), new FedAvgRule(), events);
        for (int i = 0; i < 3; i++)
        {
            host.Join(Harness.Caller(i));
        }

        Assert.Equal(RoundHostTick.PlanRefused, await host.TickAsync());
        Assert.Equal(3, events.Refused.Count);
        Assert.Null(host.LastPlan);
    }

    [Fact]
    public async Task An_opted_in_honest_but_curious_round_warns_on_both_sides_every_round()
    {
        using var consortium = new Consortium(N);
        var events = new HostEvents();
        RoundHost host = MaliciousHarness.Host(consortium, N, new MemoryPrivacyLedger(new PrivacyBudget(1000, 1e-5)), events, Harness.Settings(50));
        var warnings = new List<string>();
        ClientPrivacyPolicy policy = MaliciousHarness.Policy() with { AllowHonestButCurious = true };
        ClientRound[] clients = Enumerable.Range(0, N).Select(i => MaliciousHarness.Client(consortium, i, policy: policy, warnings: warnings)).ToArray();

        InProcessRoundResult result = await Harness.Run(host, clients);

        Assert.All(result.Clients, r => Assert.Equal(ClientRoundOutcome.Completed, r.Outcome));
        Assert.Equal(1, events.HonestButCuriousRounds);
        Assert.Equal(N, warnings.Count);
        Assert.All(warnings, w => Assert.Contains("honest-but-curious", w, StringComparison.Ordinal));
        Assert.Equal(consortium.Cohort(N), events.Finished.Single().Contract.Cohort); // listed: every member has an identity
    }

    private static RoundOffer Offer(RoundInvitation invitation)
    {
        RoundParameters p = invitation.Opening.BeginRound.Parameters;
        return new RoundOffer
        {
            RoundId = invitation.Contract.LedgerRoundId,
            Plan = invitation.Contract.AccountingParameters,
            Threshold = (int)p.Threshold,
            CohortSize = p.ClientIds.Count,
            Graph = (SecAggGraph)(int)p.GraphKind,
            GraphDegree = (int)p.GraphDegree,
            ThreatMode = PolicyThreatMode.SemiMalicious,
            CohortOrganisations = ["org-a", "org-b", "org-c", "org-a", "org-b"],
        };
    }
}
