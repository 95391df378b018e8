using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto.Tests.Vectors;

/// <summary>RFC 7748 (Langley, Hamburg, Turner 2016), X25519 known answers.</summary>
public sealed class X25519Vectors
{
    // RFC 7748 §5.2, the two single scalar multiplications (the second u has its top bit set: it must be masked).
    [Theory]
    [InlineData("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")]
    [InlineData("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957")]
    public void Rfc7748_5_2_scalar_multiplication(string scalar, string u, string expected)
    {
        byte[] output = new byte[32];
        X25519Agreement.ScalarMult(Hex.D(scalar), Hex.D(u), output);
        Assert.Equal(expected, Hex.E(output));

        // The same vector through the OpenSSL path used for agreements.
        byte[] viaOpenSsl = new byte[32];
        Assert.True(OpenSslX25519.ScalarMult(Hex.D(scalar), Hex.D(u), viaOpenSsl));
        Assert.Equal(expected, Hex.E(viaOpenSsl));
    }

    // libcrypto.so.3 is on every machine of this kind; a silent fallback to the managed ladder would hide a broken binding.
    [Fact]
    public void OpenSsl_path_is_available_and_self_tested() => Assert.True(OpenSslX25519.IsAvailable);

    // RFC 7748 §5.2, iterated: k = u = 9; repeat (k, u) ← (X25519(k, u), k). Values after 1 and 1,000 iterations
    // (the 1,000,000-iteration value is skipped: it takes minutes).
    [Theory]
    [InlineData(1, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")]
    [InlineData(1000, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")]
    public void Rfc7748_5_2_iterated(int iterations, string expected)
    {
        Assert.Equal(expected, Iterate(iterations, X25519Agreement.ScalarMult));
        Assert.Equal(expected, Iterate(iterations, (k, u, o) => Assert.True(OpenSslX25519.ScalarMult(k, u, o))));
    }

    private delegate void ScalarMultFn(ReadOnlySpan<byte> k, ReadOnlySpan<byte> u, Span<byte> output);

    private static string Iterate(int iterations, ScalarMultFn scalarMult)
    {
        byte[] k = new byte[32];
        k[0] = 9;
        byte[] u = (byte[])k.Clone();
        byte[] next = new byte[32];
        for (int i = 0; i < iterations; i++)
        {
            scalarMult(k, u, next);
            k.CopyTo(u, 0);
            next.CopyTo(k, 0);
        }

        return Hex.E(k);
    }

    // RFC 7748 §6.1: Alice's and Bob's key pairs and their shared secret, through the public API.
    [Theory]
    [InlineData("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")]
    [InlineData("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")]
    public void Rfc7748_6_1_diffie_hellman(string privateKey, string expectedPublic, string peerPublic)
    {
        foreach (KeyAgreementAlgorithm suite in new[] { KeyAgreementAlgorithm.X25519, new X25519Agreement { UseOpenSsl = false } })
        {
            AgreeAndCheck(suite, privateKey, expectedPublic, peerPublic);
        }
    }

    private static void AgreeAndCheck(KeyAgreementAlgorithm suite, string privateKey, string expectedPublic, string peerPublic)
    {
        using PrivateKey key = suite.ImportPrivateKey(Hex.D(privateKey));
        Assert.Equal(expectedPublic, Hex.E(key.PublicKey));
        Assert.True(suite.TryAgree(key, Hex.D(peerPublic), out SharedSecret? secret));
        using (secret)
        {
            Assert.Equal("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", Hex.E(secret.Span));
        }
    }
}
