using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using SecureFedRec.Privacy.Accounting;

namespace SecureFedRec.Privacy.Tests.Disclosure;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

internal static partial class DisclosureTestSupport
{
    public static MechanismParameters Plan(double q = 1.0, int n = 10, int t = 7) =>
        TestData.Parameters(d: 64, gamma: 0.01, sigmaSqNum: 400, n: n, t: t) with { SamplingRate = q };

    /// <summary>ε of <paramref name="rounds"/> rounds of <paramref name="p"/> at t, at δ = 1e-5, with p's own q.</summary>
    public static double Eps(MechanismParameters p, int rounds = 1) =>
        DistributedDiscreteGaussianAccountant.RoundCurve(p, p.MinClients).Compose(rounds).ToEpsilon(1e-5).Epsilon;

    /// <summary>
    /// Rewrites a ledger file's lines with <paramref name="edit"/> and re-seals the whole hash chain (what an attacker
    /// with write access, or a buggy implementation, could produce): used to reach the semantic checks behind the chain.
    /// </summary>
    public static void RewriteAndReseal(string path, Func<List<string>, List<string>> edit)
    {
        var lines = File.ReadAllLines(path).Select(StripHash).ToList();
        lines = edit(lines);
        var previous = Array.Empty<byte>();
        var sb = new StringBuilder();
        foreach (var body in lines)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            var input = new byte[previous.Length + bytes.Length];
            previous.CopyTo(input, 0);
            bytes.CopyTo(input, previous.Length);
            previous = SHA256.HashData(input);
            sb.Append(body[..^1]).Append(",\"sha256\":\"").Append(Convert.ToHexStringLower(previous)).Append("\"}\n");
        }

        File.WriteAllText(path, sb.ToString());
    }

    /// <summary>A line without its <c>sha256</c> field, closed by <c>}</c> (the hashed body).</summary>
    public static string StripHash(string line) => HashField().Replace(line, "}");

    [GeneratedRegex(",\"sha256\":\"[0-9a-f]{64}\"}$")]
    private static partial Regex HashField();
}
