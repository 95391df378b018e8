using FsCheck;
using FsCheck.Fluent;
using SecureFedRec.Protocol.Simulation;
using SecureFedRec.Protocol.Wire;
using GraphKind = SecureFedRec.Protocol.Graph.GraphKind;

namespace SecureFedRec.Protocol.Tests;

/// <summary>
/// Random n, t, b, d, threat mode and a drop point per client (any phase): the coordinator's sum equals the exact sum
/// of the clients whose masked input arrived whenever every phase kept at least t clients, and the round aborts with
/// AbortedTooFewClients (clients told CoordinatorAborted) otherwise.
/// </summary>
public class PropertyTests
{
    public sealed record Scenario(int N, int T, int Bits, int D, ThreatMode Mode, int[] DropCodes, int Seed)
    {
        public override string ToString() =>
            $"n={N} t={T} b={Bits} d={D} {Mode} drops=[{string.Join(',', DropCodes)}] seed={Seed}";
    }

    private static Gen<Scenario> Scenarios(int maxClients) =>
        from n in Gen.Choose(2, maxClients)
        from t0 in Gen.Choose(2, n)
        from bits in Gen.Choose(1, 32)
        from d in Gen.Choose(1, 9)
        from malicious in Gen.Elements(false, true)
        from codes in Gen.ArrayOf(Gen.Choose(0, 11), n)
        from seed in Gen.Choose(0, int.MaxValue)
        let mode = malicious ? ThreatMode.Malicious : ThreatMode.HonestButCurious
        let t = malicious ? Math.Max(t0, (n / 2) + 1) : t0
        select new Scenario(n, t, bits, d, mode, codes, seed);

    private static DropoutPlan Plan(Scenario s)
    {
        var plan = new DropoutPlan();
        for (int i = 0; i < s.N; i++)
        {
            if (s.DropCodes[i] <= 5)
            {
                plan.Drop(i + 1, (DropPoint)s.DropCodes[i]);
            }
        }

        return plan;
    }

    private static bool Holds(Scenario s)
    {
        uint[][] inputs = TestSupport.RandomInputs(s.N, s.D, s.Bits, (ulong)s.Seed);
        SecAggOutcome outcome = TestSupport.Run(new SecAggConfig(s.N, s.T, s.D, s.Bits, s.Mode), inputs, Plan(s), (ulong)s.Seed);

        int Reaching(int point) => Enumerable.Range(0, s.N).Count(i => s.DropCodes[i] > 5 || s.DropCodes[i] >= point);
        int[] u3 = Enumerable.Range(0, s.N).Where(i => s.DropCodes[i] > 5 || s.DropCodes[i] >= 3).Select(i => i + 1).ToArray();
        bool enough = Reaching(1) >= s.T && Reaching(2) >= s.T && u3.Length >= s.T
            && (s.Mode == ThreatMode.HonestButCurious || Reaching(4) >= s.T) && Reaching(5) >= s.T;
        if (enough)
        {
            return outcome.Completed
                && outcome.Contributors.SequenceEqual(u3)
                && outcome.Sum.SequenceEqual(TestSupport.ExpectedSum(inputs, u3, s.Bits))
                && outcome.ClientAborts.Count == 0;
        }

        return !outcome.Completed
            && outcome.Outcome == RoundOutcome.AbortedTooFewClients
            && outcome.ClientAborts.Values.All(r => r == ClientAbortReason.CoordinatorAborted);
    }

    [Fact]
    public void Full_graph_sum_is_exact_or_the_round_aborts_for_too_few_clients() =>
        Prop.ForAll(Scenarios(7).ToArbitrary(), Holds)
            .Check(Config.QuickThrowOnFailure.WithMaxTest(60));

    [Fact]
    public void Harary_graph_sum_is_exact_whenever_the_round_completes()
    {
        Gen<(int N, int K, int T, int Seed, int[] Codes)> gen =
            from half in Gen.Choose(4, 9)
            from k in Gen.Choose(2, 5)
            from t in Gen.Choose(2, k + 1)
            from seed in Gen.Choose(0, int.MaxValue)
            from codes in Gen.ArrayOf(Gen.Choose(0, 29), 2 * half)
            select (2 * half, k, t, seed, codes);
        Prop.ForAll(gen.ToArbitrary(), c =>
        {
            uint[][] inputs = TestSupport.RandomInputs(c.N, 5, 24, (ulong)c.Seed);
            var plan = new DropoutPlan();
            for (int i = 0; i < c.N; i++)
            {
                if (c.Codes[i] <= 5)
                {
                    plan.Drop(i + 1, (DropPoint)c.Codes[i]);
                }
            }

            SecAggOutcome outcome = TestSupport.Run(
                new SecAggConfig(c.N, c.T, 5, 24, Graph: GraphKind.Harary, Degree: c.K), inputs, plan, (ulong)c.Seed);
            int[] u3 = Enumerable.Range(0, c.N).Where(i => c.Codes[i] > 5 || c.Codes[i] >= 3).Select(i => i + 1).ToArray();
            bool noDrops = c.Codes.All(code => code > 5);
            if (c.Codes.Contains(0))
            {
                // A member silent before advertising leaves a commitment missing: the relabelling cannot be derived.
                return !outcome.Completed && outcome.Outcome == RoundOutcome.AbortedIncompleteRelabelling;
            }

            // In a sparse graph a client may also abort because its own neighbourhood fell below t; it then
            // contributes nothing. Every other client that sent its masked input must be in the sum, exactly.
            return outcome.Completed
                ? outcome.Contributors.All(u3.Contains)
                  && u3.Where(id => !outcome.Contributors.Contains(id)).All(outcome.ClientAborts.ContainsKey)
                  && outcome.Sum.SequenceEqual(TestSupport.ExpectedSum(inputs, outcome.Contributors, 24))
                : !noDrops && outcome.Outcome is RoundOutcome.AbortedTooFewClients or RoundOutcome.AbortedReconstructionFailed;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));
    }
}
