using System.Security.Cryptography;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto.Tests.Misuse;

/// <summary>The mask PRG: parameter refusals, disposed seeds, and the stream recomputed from its written definition on every backend.</summary>
public sealed class MaskPrgMisuse
{
    [Theory]
    [InlineData(0)]
    [InlineData(33)]
    [InlineData(-1)]
    public void Bits_out_of_range_throw(int bits) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => MaskPrg.AddMask(new byte[32], default, bits, new uint[4]));

    [Theory]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    public void Seed_length_must_be_32(int length) =>
        Assert.Throws<ArgumentException>(() => MaskPrg.Generate(new byte[length], default, 8, new uint[4]));

    [Fact]
    public void Context_too_long_throws() =>
        Assert.Throws<ArgumentException>(() => MaskPrg.Generate(new byte[32], new byte[MaskPrg.MaxContextLength + 1], 8, new uint[4]));

    [Fact]
    public void Disposed_seed_holder_throws()
    {
        var seed = SecretBytes.Generate();
        seed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => MaskPrg.AddMask(seed, default, 8, new uint[4]));
    }

    // The definition in the type's doc comment, recomputed from independent pieces (.NET HKDF, .NET AES-ECB over counter
    // blocks): any other implementation following the text gets the same mask.
    [Theory]
    [InlineData(32, 1)]
    [InlineData(13, 37)]
    [InlineData(1, 1030)]
    public void Matches_its_written_definition(int bits, int length)
    {
        byte[] seed = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();
        byte[] context = "session 9 / round 2 / pair (3,8)"u8.ToArray();
        uint[] actual = new uint[length];
        MaskPrg.Generate(seed, context, bits, actual);

        byte[] info = [.. "SecureFedRec/v1\0mask-prg\0"u8, 0, 0, 0, (byte)context.Length, .. context];
        byte[] key = HKDF.DeriveKey(HashAlgorithmName.SHA256, seed, 32, salt: [], info: info);
        int blocks = ((length * 4) + 15) / 16;
        byte[] counters = new byte[blocks * 16];
        for (int i = 0; i < blocks; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(counters.AsSpan(i * 16), (UInt128)i);
        }

        using var aes = Aes.Create();
        aes.Key = key;
        byte[] ks = aes.EncryptEcb(counters, PaddingMode.None);
        uint mask = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        for (int i = 0; i < length; i++)
        {
            Assert.Equal(System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(ks.AsSpan(i * 4)) & mask, actual[i]);
        }
    }

    [Fact]
    public void Contexts_separate_streams()
    {
        uint[] a = new uint[8];
        uint[] b = new uint[8];
        MaskPrg.Generate(new byte[32], "a"u8, 32, a);
        MaskPrg.Generate(new byte[32], "b"u8, 32, b);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Backends_agree_on_every_operation()
    {
        byte[] seed = new byte[32];
        seed[0] = 1;
        foreach (MaskOperation op in Enum.GetValues<MaskOperation>())
        {
            uint[] fast = Enumerable.Range(0, 5000).Select(i => (uint)(i * 2654435761u)).ToArray();
            uint[] slow = (uint[])fast.Clone();
            MaskPrg.Run(seed, "x"u8, 20, fast, op, AesCtrBackend.Auto);
            MaskPrg.Run(seed, "x"u8, 20, slow, op, AesCtrBackend.Portable);
            Assert.Equal(slow, fast);
        }
    }
}
