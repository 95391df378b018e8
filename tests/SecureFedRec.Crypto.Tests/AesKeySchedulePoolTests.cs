using System.Runtime.Intrinsics;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto.Tests;

/// <summary>
/// The pooled round-key arrays of <see cref="AesKeySchedule"/>: a disposed schedule's array is wiped before reuse, disposing
/// twice returns it once (two live schedules never share round keys), and streams opened on reused arrays produce exactly
/// the keystream of fresh whole-stream <see cref="MaskPrg"/> calls.
/// </summary>
public sealed class AesKeySchedulePoolTests
{
    private static byte[] Seed(int salt) => [.. Enumerable.Range(0, 32).Select(i => (byte)((i * 29) + salt))];

    [Fact]
    public void DisposedScheduleIsWipedAndDoubleDisposeReturnsItOnce()
    {
        var schedule = new AesKeySchedule(Seed(1), AesCtrBackend.Auto);
        if (AesCtr.Resolve(AesCtrBackend.Auto) != AesCtrBackend.AesNi128)
        {
            schedule.Dispose();
            return; // The portable backend holds a .NET Aes object, not pooled arrays.
        }

        Vector128<byte>[] keys = RoundKeys(schedule);
        Assert.Contains(keys, k => k != Vector128<byte>.Zero);
        schedule.Dispose();
        Assert.All(keys, k => Assert.Equal(Vector128<byte>.Zero, k));
        Assert.Null(RoundKeysOrNull(schedule));
        schedule.Dispose(); // idempotent: the array is not pooled a second time

        // However many schedules are opened now, no two share an array.
        var open = Enumerable.Range(0, 64).Select(i => new AesKeySchedule(Seed(i), AesCtrBackend.Auto)).ToList();
        try
        {
            Assert.Equal(open.Count, open.Select(s => RoundKeys(s)).Distinct(ReferenceEqualityComparer.Instance).Count());
        }
        finally
        {
            open.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public void StreamsOnReusedArraysMatchFreshKeystreams()
    {
        byte[] context = "pool-reuse"u8.ToArray();
        for (int round = 0; round < 3; round++)
        {
            var streams = Enumerable.Range(0, 50).Select(i => MaskStream.Open(Seed(i + (100 * round)), context, 32)).ToList();
            for (int i = 0; i < streams.Count; i++)
            {
                var expected = new uint[300];
                MaskPrg.Generate(Seed(i + (100 * round)), context, 32, expected);
                var actual = new uint[300];
                streams[i].Generate(0, actual);
                Assert.Equal(expected, actual);
            }

            // Dispose in an order different from opening, so the next round reuses arrays across positions.
            foreach (MaskStream stream in Enumerable.Reverse(streams))
            {
                stream.Dispose();
                stream.Dispose();
            }
        }
    }

    private static Vector128<byte>[] RoundKeys(AesKeySchedule schedule) => RoundKeysOrNull(schedule)!;

    private static Vector128<byte>[]? RoundKeysOrNull(AesKeySchedule schedule) =>
        (Vector128<byte>[]?)typeof(AesKeySchedule).GetField("_roundKeys", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(schedule);
}
