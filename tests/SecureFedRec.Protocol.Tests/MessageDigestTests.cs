using Google.Protobuf;
using SecureFedRec.Protocol.Session;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Tests;

/// <summary>The resubmission fingerprint streamed through the per-thread hashing writer.</summary>
public class MessageDigestTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4095)]
    [InlineData(16 * 1024)]
    [InlineData(100_000)]
    public void The_streamed_fingerprint_is_the_fingerprint_of_the_encoding(int words)
    {
        ClientToServer message = MaskedInput(words, 3);
        byte[] streamed = MessageDigest.Of(message);
        Assert.Equal(MessageDigest.Length, streamed.Length);
        Assert.Equal(MessageDigest.Of(message.ToByteArray()), streamed);
    }

    [Fact]
    public void The_reused_writer_starts_clean_for_every_message()
    {
        ClientToServer big = MaskedInput(50_000, 1);
        ClientToServer small = MaskedInput(3, 2);
        byte[] smallFirst = MessageDigest.Of(small);
        _ = MessageDigest.Of(big);
        Assert.Equal(smallFirst, MessageDigest.Of(small));
        Assert.Equal(MessageDigest.Of(big.ToByteArray()), MessageDigest.Of(big));
        Assert.NotEqual(MessageDigest.Of(MaskedInput(3, 4)), smallFirst);
    }

    [Fact]
    public void Threads_hashing_at_once_get_each_their_own_fingerprint()
    {
        ClientToServer[] messages = [.. Enumerable.Range(0, 16).Select(i => MaskedInput(20_000 + i, (byte)i))];
        byte[][] expected = [.. messages.Select(m => MessageDigest.Of(m.ToByteArray()))];
        var actual = new byte[messages.Length][];
        Parallel.For(0, messages.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            int j = i % messages.Length;
            byte[] digest = MessageDigest.Of(messages[j]);
            Assert.Equal(expected[j], digest);
            actual[j] = digest;
        });
        Assert.Equal(expected, actual);
    }

    private static ClientToServer MaskedInput(int words, byte fill)
    {
        byte[] vector = new byte[4 * words];
        for (int i = 0; i < vector.Length; i++)
        {
            vector[i] = (byte)(fill + (i * 31));
        }

        return new ClientToServer
        {
            MaskedInput = new MaskedInput { RoundNumber = 5, ClientId = 9, MaskedVector = ByteString.CopyFrom(vector) },
        };
    }
}
