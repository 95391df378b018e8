using System.Numerics;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto.Tests.Misuse;

/// <summary>Shamir sharing: every ShamirResult refusal and the parameter misuse that throws.</summary>
public sealed class ShamirMisuse
{
    private static readonly byte[] Secret = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    [Theory]
    [InlineData("secret of 31 bytes")]
    [InlineData("threshold 0")]
    [InlineData("threshold above n")]
    [InlineData("x = 0")]
    [InlineData("x negative")]
    [InlineData("duplicate x")]
    [InlineData("no shares")]
    public void Split_refuses_bad_parameters(string what)
    {
        byte[] secret = Secret;
        int t = 2;
        int[] xs = [1, 2, 3];
        switch (what)
        {
            case "secret of 31 bytes": secret = Secret[..31]; break;
            case "threshold 0": t = 0; break;
            case "threshold above n": t = 4; break;
            case "x = 0": xs[1] = 0; break;
            case "x negative": xs[1] = -5; break;
            case "duplicate x": xs[2] = 1; break;
            default: xs = []; break;
        }

        Assert.ThrowsAny<ArgumentException>(() => Shamir.Split(secret, t, xs));
    }

    [Theory]
    [InlineData(ShamirResult.TooFewShares)]
    [InlineData(ShamirResult.DuplicateIndex)]
    [InlineData(ShamirResult.IndexOutOfRange)]
    [InlineData(ShamirResult.MalformedShare)]
    [InlineData(ShamirResult.NotASecret)]
    [InlineData(ShamirResult.InconsistentShares)]
    public void Reconstruct_refusals_are_typed_and_wipe_the_output(ShamirResult expected)
    {
        ShamirShare[] shares = Shamir.Split(Secret, 3, new[] { 1, 2, 3, 4 });
        byte[] y = new byte[33];
        List<ShamirShare> use = shares.Take(3).ToList();
        switch (expected)
        {
            case ShamirResult.TooFewShares: use = shares.Take(2).ToList(); break;
            case ShamirResult.DuplicateIndex: shares[0].ExportY(y); use[2] = ShamirShare.Import(1, y); break;
            case ShamirResult.IndexOutOfRange: shares[0].ExportY(y); use[0] = ShamirShare.Import(0, y); break;
            case ShamirResult.MalformedShare: use[1] = ShamirShare.Import(2, Enumerable.Repeat((byte)0xFF, 33).ToArray()); break;
            case ShamirResult.NotASecret:
                // The constant polynomial 2^256 + 5 (< p): a valid field element but not a 256-bit secret.
                byte[] big = ((BigInteger.One << 256) + 5).ToByteArray(isUnsigned: true, isBigEndian: true);
                use = new[] { 1, 2, 3 }.Select(x => ShamirShare.Import(x, big)).ToList();
                break;
            default:
                shares[3].ExportY(y);
                y[^1] ^= 1;
                use = [.. shares.Take(3), ShamirShare.Import(4, y)];
                break;
        }

        byte[] output = Enumerable.Repeat((byte)0xAA, 32).ToArray();
        Assert.Equal(expected, Shamir.TryReconstruct(use, 3, output));
        Assert.All(output, b => Assert.Equal(0, b));
    }

    [Fact]
    public void A_tampered_share_among_exactly_t_gives_a_different_secret()
    {
        ShamirShare[] shares = Shamir.Split(Secret, 3, new[] { 1, 2, 3 });
        byte[] y = new byte[33];
        shares[2].ExportY(y);
        y[^1] ^= 1;
        byte[] output = new byte[32];
        ShamirResult result = Shamir.TryReconstruct([shares[0], shares[1], ShamirShare.Import(3, y)], 3, output);
        Assert.True(result == ShamirResult.NotASecret || (result == ShamirResult.Ok && !output.SequenceEqual(Secret)));
    }

    [Fact]
    public void Disposed_share_throws()
    {
        ShamirShare[] shares = Shamir.Split(Secret, 2, new[] { 1, 2 });
        shares[1].Dispose();
        Assert.Throws<ObjectDisposedException>(() => Shamir.TryReconstruct(shares, 2, new byte[32]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Reconstruct_threshold_must_be_positive(int t) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Shamir.TryReconstruct(Array.Empty<ShamirShare>(), t, new byte[32]));

    [Fact]
    public void Reconstruct_output_must_be_32_bytes() =>
        Assert.Throws<ArgumentException>(() => Shamir.TryReconstruct(Array.Empty<ShamirShare>(), 1, new byte[33]));

    [Fact]
    public void Import_needs_33_byte_y() => Assert.Throws<ArgumentException>(() => ShamirShare.Import(1, new byte[32]));

    [Theory]
    [InlineData("unknown x", ShamirResult.IndexOutOfRange)]
    [InlineData("too few", ShamirResult.TooFewShares)]
    [InlineData("in another order", ShamirResult.Ok)]
    public void LagrangeCache_checks_the_x_set(string what, ShamirResult expected)
    {
        ShamirShare[] shares = Shamir.Split(Secret, 3, new[] { 1, 2, 3, 9 });
        var cache = new LagrangeCache(new[] { 1, 2, 3 });
        ShamirShare[] use = what switch
        {
            "unknown x" => [shares[0], shares[1], shares[3]],
            "too few" => [shares[0], shares[1]],
            _ => [shares[2], shares[0], shares[1]],
        };
        byte[] output = new byte[32];
        Assert.Equal(expected, cache.TryReconstruct(use, output));
        Assert.Equal(expected == ShamirResult.Ok, output.SequenceEqual(Secret));
    }

    [Theory]
    [InlineData(new int[0])]
    [InlineData(new[] { 1, 1 })]
    [InlineData(new[] { 0, 1 })]
    public void LagrangeCache_refuses_bad_x_sets(int[] xs) => Assert.Throws<ArgumentException>(() => new LagrangeCache(xs));
}
