using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto.Tests.Misuse;

/// <summary>AES-256-GCM: tampering of every part fails and wipes the output; wrong lengths and disposed keys are refused.</summary>
public sealed class AeadMisuse
{
    private static readonly byte[] Ad = "header"u8.ToArray();
    private static readonly byte[] Message = "the shares of client 17"u8.ToArray();

    [Fact]
    public void Round_trip_and_fresh_nonces()
    {
        using var key = SecretBytes.Generate();
        byte[] one = Aead.Seal(key, Ad, Message);
        byte[] two = Aead.Seal(key, Ad, Message);
        Assert.NotEqual(Hex.E(one.AsSpan(0, 12)), Hex.E(two.AsSpan(0, 12)));
        byte[] plain = new byte[Message.Length];
        Assert.True(Aead.TryOpen(key, Ad, one, plain));
        Assert.Equal(Message, plain);
    }

    [Theory]
    [InlineData("nonce", 0)]
    [InlineData("ciphertext", 12)]
    [InlineData("tag", -1)]
    [InlineData("associated data", -2)]
    [InlineData("key", -3)]
    [InlineData("truncated", -4)]
    public void Tampering_fails_and_wipes_the_output(string what, int position)
    {
        using var key = SecretBytes.Generate();
        using var otherKey = SecretBytes.Generate();
        byte[] sealedMessage = Aead.Seal(key, Ad, Message);
        byte[] ad = (byte[])Ad.Clone();
        SecretBytes useKey = key;
        switch (position)
        {
            case >= 0: sealedMessage[position] ^= 1; break;
            case -1: sealedMessage[^1] ^= 0x80; break;
            case -2: ad[0] ^= 1; break;
            case -3: useKey = otherKey; break;
            default: sealedMessage = sealedMessage[..^1]; break;
        }

        byte[] plain = Enumerable.Repeat((byte)0xAA, Aead.PlaintextLength(sealedMessage.Length)).ToArray();
        Assert.False(Aead.TryOpen(useKey, ad, sealedMessage, plain), what);
        Assert.All(plain, b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(27)]
    public void Too_short_is_false(int length)
    {
        using var key = SecretBytes.Generate();
        Assert.False(Aead.TryOpen(key, Ad, new byte[length], Span<byte>.Empty));
    }

    [Theory]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    public void Wrong_key_length_throws(int length)
    {
        using var key = SecretBytes.Generate(length);
        Assert.Throws<ArgumentException>(() => Aead.Seal(key, Ad, Message));
        Assert.Throws<ArgumentException>(() => Aead.TryOpen(key, Ad, new byte[40], new byte[12]));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    public void Wrong_buffer_lengths_throw(int delta)
    {
        using var key = SecretBytes.Generate();
        Assert.Throws<ArgumentException>(() => Aead.Seal(key, Ad, Message, new byte[Message.Length + Aead.Overhead + delta]));
        byte[] sealedMessage = Aead.Seal(key, Ad, Message);
        Assert.Throws<ArgumentException>(() => Aead.TryOpen(key, Ad, sealedMessage, new byte[Message.Length + delta]));
    }

    [Fact]
    public void Disposed_key_throws()
    {
        var key = SecretBytes.Generate();
        key.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Aead.Seal(key, Ad, Message));
    }
}
