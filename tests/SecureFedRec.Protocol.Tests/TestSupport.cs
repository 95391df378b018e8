using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Simulation;

namespace SecureFedRec.Protocol.Tests;

internal static class TestSupport
{
    public static uint[][] RandomInputs(int n, int d, int bits, ulong seed)
    {
        using var rng = DeterministicRandomSource.FromTestSeed(seed);
        uint mask = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        var inputs = new uint[n][];
        for (int i = 0; i < n; i++)
        {
            inputs[i] = new uint[d];
            for (int j = 0; j < d; j++)
            {
                inputs[i][j] = rng.NextUInt32() & mask;
            }
        }

        return inputs;
    }

    public static uint[] ExpectedSum(IReadOnlyList<uint[]> inputs, IEnumerable<int> contributors, int bits)
    {
        uint mask = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        var sum = new uint[inputs[0].Length];
        foreach (int id in contributors)
        {
            for (int j = 0; j < sum.Length; j++)
            {
                sum[j] = unchecked(sum[j] + inputs[id - 1][j]) & mask;
            }
        }

        return sum;
    }

    public static SecAggOutcome Run(SecAggConfig config, uint[][] inputs, DropoutPlan? plan = null, ulong seed = 7,
        CoordinatorScript? script = null, bool transcript = false)
    {
        using var rng = DeterministicRandomSource.FromTestSeed(seed);
        return InProcessRound.Run(config, inputs, new RoundOptions
        {
            Dropouts = plan,
            Random = rng,
            Script = script,
            RecordTranscript = transcript,
        });
    }
}
