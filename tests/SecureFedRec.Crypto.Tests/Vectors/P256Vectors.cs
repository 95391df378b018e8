namespace SecureFedRec.Crypto.Tests.Vectors;

/// <summary>NIST CAVP "KAS ECC CDH primitive" test vectors (SP 800-56A §5.7.1.2, CAVS 14.1, file KAS_ECC_CDH_PrimitiveTest.txt), [P-256].</summary>
public sealed class P256EcdhVectors
{
    [Theory]
    [InlineData(0, "700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287", "db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac",
        "7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534", "ead218590119e8876b29146ff89ca61770c4edbbf97d38ce385ed281d8a6b230", "28af61281fd35e2fa7002523acc85a429cb06ee6648325389f59edfce1405141",
        "46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b")]
    [InlineData(1, "809f04289c64348c01515eb03d5ce7ac1a8cb9498f5caa50197e58d43a86a7ae", "b29d84e811197f25eba8f5194092cb6ff440e26d4421011372461f579271cda3",
        "38f65d6dce47676044d58ce5139582d568f64bb16098d179dbab07741dd5caf5", "119f2f047902782ab0c9e27a54aff5eb9b964829ca99c06b02ddba95b0a3f6d0", "8f52b726664cac366fc98ac7a012b2682cbd962e5acb544671d41b9445704d1d",
        "057d636096cb80b67a8c038c890e887d1adfa4195e9b3ce241c8a778c59cda67")]
    [InlineData(3, "df3989b9fa55495719b3cf46dccd28b5153f7808191dd518eff0c3cff2b705ed", "422294ff46003429d739a33206c8752552c8ba54a270defc06e221e0feaf6ac4",
        "207c43a79bfee03db6f4b944f53d2fb76cc49ef1c9c4d34d51b6c65c4db6932d", "24277c33f450462dcb3d4801d57b9ced05188f16c28eda873258048cd1607e0d", "c4789753e2b1f63b32ff014ec42cd6a69fac81dfe6d0d6fd4af372ae27c46f88",
        "96441259534b80f6aee3d287a6bb17b5094dd4277d9e294f8fe73e48bf2a0024")]
    [InlineData(24, "356c5a444c049a52fee0adeb7e5d82ae5aa83030bfff31bbf8ce2096cf161c4b", "57d128de8b2a57a094d1a001e572173f96e8866ae352bf29cddaf92fc85b2f92",
        "85a268f9d7772f990c36b42b0a331adc92b5941de0b862d5d89a347cbf8faab0", "9cf4b98581ca1779453cc816ff28b4100af56cf1bf2e5bc312d83b6b1b21d333", "7a5504fcac5231a0d12d658218284868229c844a04a3450d6c7381abe080bf3b",
        "1e51373bd2c6044c129c436e742a55be2a668a85ae08441b6756445df5493857")]
    public void Cavp_kas_ecc_cdh_p256(int count, string qcavsX, string qcavsY, string dIut, string qiutX, string qiutY, string zIut)
    {
        using PrivateKey key = KeyAgreementAlgorithm.P256.ImportPrivateKey(Hex.D(dIut));
        Assert.True("04" + qiutX + qiutY == Hex.E(key.PublicKey), $"COUNT = {count} QIUT");
        Assert.True(KeyAgreementAlgorithm.P256.TryAgree(key, Hex.D("04" + qcavsX + qcavsY), out SharedSecret? z));
        using (z)
        {
            Assert.True(zIut == Hex.E(z.Span), $"COUNT = {count} ZIUT");
        }
    }
}

/// <summary>RFC 6979 Appendix A.2.5: ECDSA, 256 bits (prime field), key pair and the SHA-256 signatures of "sample" and "test".</summary>
public sealed class EcdsaVectors
{
    private const string X = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
    private const string Ux = "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6";
    private const string Uy = "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";

    [Theory]
    [InlineData("sample", "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716", "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8")]
    [InlineData("test", "f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367", "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083")]
    public void Rfc6979_A_2_5_sha256(string message, string r, string s)
    {
        using SigningKey key = SigningKey.Import(Hex.D(X));
        Assert.Equal("04" + Ux + Uy, Hex.E(key.PublicKey));
        byte[] msg = System.Text.Encoding.ASCII.GetBytes(message);
        byte[] signature = key.Sign(msg);
        Assert.Equal(r + s, Hex.E(signature));
        Assert.True(Signature.Verify(key.PublicKey, msg, signature));
    }
}
