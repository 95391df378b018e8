using SecureFedRec.Crypto;

namespace SecureFedRec.Privacy.Tests;

internal static class TestData
{
    public static byte[] Seed(byte b)
    {
        var s = new byte[32];
        s.AsSpan().Fill(b);
        return s;
    }

    public static MechanismParameters Parameters(int d = 64, int bits = 24, double gamma = 0.01, ulong sigmaSqNum = 400, ulong sigmaSqDen = 1, int n = 10, int t = 7, double clip = 1.0, double beta = 0.6065306597126334) => new()
    {
        Dimension = d,
        Bits = bits,
        Clip = clip,
        Gamma = gamma,
        Beta = beta,
        SigmaSquaredNumerator = sigmaSqNum,
        SigmaSquaredDenominator = sigmaSqDen,
        PlannedClients = n,
        MinClients = t,
        Delta = 1e-5,
    };

    /// <summary>A vector with Gaussian-ish entries scaled to the given norm (test input only).</summary>
    public static double[] Vector(int d, double norm, int seed)
    {
        var rnd = new Random(seed);
        var v = new double[d];
        for (var i = 0; i < d; i++)
        {
            v[i] = rnd.NextDouble() - 0.5;
        }

        var s = Math.Sqrt(v.Sum(x => x * x));
        for (var i = 0; i < d; i++)
        {
            v[i] *= norm / s;
        }

        return v;
    }

    public static uint[] SumMod(IEnumerable<uint[]> inputs, int bits)
    {
        uint[]? acc = null;
        var mask = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        foreach (var x in inputs)
        {
            acc ??= new uint[x.Length];
            for (var i = 0; i < x.Length; i++)
            {
                acc[i] = unchecked(acc[i] + x[i]) & mask;
            }
        }

        return acc!;
    }

    public static DeterministicRandomSource Rng(ulong seed) => DeterministicRandomSource.FromTestSeed(seed);
}
