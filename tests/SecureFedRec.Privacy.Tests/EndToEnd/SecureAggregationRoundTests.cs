using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Mechanism;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol.Simulation;
using WireThreatMode = SecureFedRec.Protocol.Wire.ThreatMode;

namespace SecureFedRec.Privacy.Tests.EndToEnd;

/// <summary>
/// The mechanism inside real secure-aggregation rounds (H4's in-process driver): clients consent under their policy,
/// encode with DP, run SecAgg with a dropout, the coordinator charges its ledger before decoding and releases.
/// </summary>
public sealed class SecureAggregationRoundTests : IDisposable
{
    private const int N = 8;
    private const int T = 6;
    private const int Dim = 100;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sfr-e2e-" + Guid.NewGuid().ToString("N"));

    public SecureAggregationRoundTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rounds_with_a_dropout_decode_close_to_the_true_sum_and_are_charged_before_release(bool malicious)
    {
        Assert.True(DistributedDpPlanner.TryPlan(new PlanRequest
        {
            TargetEpsilon = 4,
            Delta = 1e-5,
            Rounds = 2,
            PlannedClients = N,
            MinClients = T,
            Dimension = Dim,
            Bits = 20,
            Clip = 1,
        }, out var plan, out var refusal), refusal?.Message);
        var p = plan!.Parameters;
        var policy = new ClientPrivacyPolicy
        {
            MaxTotalEpsilon = 4,
            Delta = 1e-5,
            MinNoiseMultiplier = 0.5,
            MaxClip = 1,
            AcceptedThreatModes = new HashSet<ThreatMode> { ThreatMode.CuriousServer, ThreatMode.SemiMalicious },
            MinThresholdFraction = 0.5,
        };
        var clientLedgers = Enumerable.Range(1, N).Select(i => FilePrivacyLedger.Open(Path.Combine(_dir, $"client{i}.jsonl"), new PrivacyBudget(4, 1e-5))).ToList();
        var guards = clientLedgers.Select(l => new ClientPrivacyGuard(policy, l)).ToList();
        using var coordinator = FilePrivacyLedger.Open(Path.Combine(_dir, "coordinator.jsonl"), new PrivacyBudget(4, 1e-5));
        try
        {
            for (var round = 1; round <= 2; round++)
            {
                var roundId = $"round-{round}";
                var roundSeed = TestData.Seed((byte)(40 + round));
                var announcement = new RoundAnnouncement(roundId, p, malicious ? ThreatMode.SemiMalicious : ThreatMode.CuriousServer, plan.EpsilonPerRound);
                var updates = Enumerable.Range(0, N).Select(i => TestData.Vector(Dim, 0.8, (round * 100) + i)).ToList();
                var inputs = new List<uint[]>();
                for (var i = 0; i < N; i++)
                {
                    var (decision, mechanism) = guards[i].Consent(announcement);
                    Assert.True(decision.Accepted, decision.Message);
                    using var rng = TestData.Rng((ulong)((round * 1000) + i));
                    inputs.Add(mechanism!.Encode(updates[i], roundSeed, rng));
                }

                // Client 3 goes silent after sharing its keys: its input is not in the sum.
                using var secAggRng = TestData.Rng((ulong)round);
                var outcome = InProcessRound.Run(
                    new SecAggConfig(N, T, p.PaddedDimension, p.Bits, malicious ? WireThreatMode.Malicious : WireThreatMode.HonestButCurious) { RoundNumber = (ulong)round },
                    inputs,
                    new DropoutPlan().Drop(3, DropPoint.AfterShareKeys),
                    secAggRng);
                Assert.True(outcome.Completed, outcome.Outcome.ToString());
                var contributors = outcome.Contributors;
                Assert.Equal(N - 1, contributors.Count);
                Assert.DoesNotContain(3, contributors);

                // Charge before release.
                var charge = coordinator.Charge(new RoundCharge(roundId, p, contributors.Count));
                Assert.Equal(LedgerOutcome.Charged, charge.Outcome);
                var decoded = new DistributedDiscreteGaussianMechanism(p).Decode(outcome.Sum, contributors.Count, roundSeed);
                Assert.True(decoded.Succeeded, decoded.Failure.ToString());

                var truth = new double[Dim];
                foreach (var id in contributors)
                {
                    for (var j = 0; j < Dim; j++)
                    {
                        truth[j] += updates[id - 1][j];
                    }
                }

                var rms = Math.Sqrt(decoded.Sum!.Select((v, j) => (v - truth[j]) * (v - truth[j])).Sum() / Dim);
                // Planned error per coordinate: γ·√(m·(σ² + v)) with rounding variance v ∈ [0, 1/4]; 100 coordinates
                // put the sample RMS within ±30 % (> 4 standard errors).
                var low = p.Gamma * Math.Sqrt(contributors.Count) * p.Sigma;
                var high = p.Gamma * Math.Sqrt(contributors.Count * ((p.Sigma * p.Sigma) + 0.25));
                Assert.InRange(rms, 0.7 * low, 1.3 * high);
            }

            Assert.Equal(2, coordinator.Entries.Count);
            Assert.All(coordinator.Entries, e => Assert.Equal(N - 1, e.ContributingClients));
            Assert.True(coordinator.TotalEpsilon <= 4);
            Assert.True(coordinator.TotalEpsilon > coordinator.Entries[0].RoundEpsilon);
            // The dropout's client consented (and was charged at t) although its input never reached the sum.
            Assert.All(clientLedgers, l => Assert.Equal(2, l.Entries.Count));
        }
        finally
        {
            clientLedgers.ForEach(l => l.Dispose());
        }
    }
}
