using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto.Tests.Vectors;

/// <summary>NIST SP 800-38A (2001) Appendix F.5.1 (CTR-AES128.Encrypt) and F.5.5 (CTR-AES256.Encrypt), through the mask
/// PRG's own keystream function, on every backend this CPU supports.</summary>
public sealed class AesCtrVectors
{
    private const string Counter = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    private const string Plaintext = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";

    // Only the backends this CPU runs are listed (AES-NI on x64 with the AES extension; the portable path everywhere).
    public static TheoryData<string, string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string, string>();
        foreach (string backend in SupportedBackends())
        {
            // F.5.1 CTR-AES128.Encrypt
            data.Add("F.5.1", "2b7e151628aed2a6abf7158809cf4f3c", "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee", backend);
            // F.5.5 CTR-AES256.Encrypt
            data.Add("F.5.5", "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c52b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6", backend);
        }

        return data;
    }

    internal static IEnumerable<string> SupportedBackends() =>
        new[] { AesCtrBackend.AesNi128, AesCtrBackend.Portable }.Where(AesCtr.IsSupported).Select(b => b.ToString());

    [Theory]
    [MemberData(nameof(Cases))]
    public void Sp800_38A_F5(string section, string key, string ciphertext, string backendName)
    {
        AesCtrBackend backend = Enum.Parse<AesCtrBackend>(backendName);
        byte[] pt = Hex.D(Plaintext);
        byte[] ks = new byte[pt.Length];
        AesCtr.Keystream(Hex.D(key), Hex.D(Counter), ks, backend);
        for (int i = 0; i < pt.Length; i++)
        {
            pt[i] ^= ks[i];
        }

        Assert.True(ciphertext == Hex.E(pt), section);
    }

    // The 8-block pipeline, the single-block tail and a partial last block must agree with block-at-a-time output,
    // including a carry out of the low 64 bits of the counter.
    [Theory]
    [InlineData(16 * 8 * 3 + 16 * 5 + 7, "00000000000000000000000000000000")]
    [InlineData(16 * 8 * 2 + 3, "0000000000000000fffffffffffffffc")]
    [InlineData(16 * 9, "ffffffffffffffffffffffffffffffff")]
    public void Pipeline_matches_portable(int length, string counter)
    {
        AesCtrBackend fastest = AesCtr.Resolve(AesCtrBackend.Auto);
        byte[] key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        byte[] fast = new byte[length];
        byte[] slow = new byte[length];
        AesCtr.Keystream(key, Hex.D(counter), fast, fastest);
        AesCtr.Keystream(key, Hex.D(counter), slow, AesCtrBackend.Portable);
        Assert.Equal(Hex.E(slow), Hex.E(fast));
    }
}
