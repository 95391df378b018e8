using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Simulation;
using SecureFedRec.Protocol.Wire;
using GraphKind = SecureFedRec.Protocol.Graph.GraphKind;

namespace SecureFedRec.Protocol.Tests;

/// <summary>The in-process masked-input buffer pool (<see cref="MaskedVectorBuffers"/>) and the rounds that use it.</summary>
public class MaskedVectorPoolTests
{
    [Fact]
    public void A_returned_buffer_is_zeroed_and_rented_again_instead_of_a_new_one()
    {
        using var pool = new MaskedVectorBuffers(64);
        byte[] first = pool.Rent(64);
        Assert.Equal(64, first.Length);
        Assert.All(first, b => Assert.Equal(0, b));
        first.AsSpan().Fill(0xA5);
        pool.Return(first);
        Assert.All(first, b => Assert.Equal(0, b));

        byte[] again = pool.Rent(64);
        Assert.Same(first, again);
        Assert.Equal(1, pool.Allocated);
        Assert.Equal(64, pool.AllocatedBytes);
    }

    [Fact]
    public void Buffers_rented_at_the_same_time_are_distinct_and_counted()
    {
        using var pool = new MaskedVectorBuffers(16);
        byte[] a = pool.Rent(16);
        byte[] b = pool.Rent(16);
        byte[] c = pool.Rent(16);
        Assert.NotSame(a, b);
        Assert.NotSame(b, c);
        Assert.NotSame(a, c);
        Assert.Equal(3, pool.Outstanding);
        pool.Return(b);
        byte[] d = pool.Rent(16);
        Assert.Same(b, d);
        Assert.NotSame(a, d);
        Assert.Equal(3, pool.Allocated);
        Assert.Equal(3, pool.PeakOutstanding);
    }

    [Fact]
    public void Returning_a_buffer_twice_is_refused_so_two_messages_never_share_one()
    {
        using var pool = new MaskedVectorBuffers(8);
        byte[] a = pool.Rent(8);
        pool.Return(a);
        Assert.Throws<InvalidOperationException>(() => pool.Return(a));
        byte[] b = pool.Rent(8);
        byte[] c = pool.Rent(8);
        Assert.NotSame(b, c);
    }

    [Fact]
    public void Returning_a_foreign_array_is_refused()
    {
        using var pool = new MaskedVectorBuffers(8);
        Assert.Throws<InvalidOperationException>(() => pool.Return(new byte[8]));
        Assert.Throws<ArgumentNullException>(() => pool.Return(null!));
    }

    [Theory]
    [InlineData(7)]
    [InlineData(9)]
    [InlineData(0)]
    public void Renting_another_length_than_the_rounds_is_refused(int length)
    {
        using var pool = new MaskedVectorBuffers(8);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(length));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-4)]
    public void A_pool_of_empty_or_negative_buffers_is_refused(int length) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new MaskedVectorBuffers(length));

    [Fact]
    public void Dispose_zeroes_the_free_buffers()
    {
        var pool = new MaskedVectorBuffers(32);
        byte[] a = pool.Rent(32);
        pool.Return(a);
        a[3] = 7; // written after its return (nobody should): Dispose still leaves it zero
        pool.Dispose();
        Assert.All(a, b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(6, 4, 10, 32, 0.0, ThreatMode.HonestButCurious, GraphKind.Full, null, 2)]
    [InlineData(6, 4, 10, 12, 0.2, ThreatMode.HonestButCurious, GraphKind.Full, null, 1)]
    [InlineData(9, 5, 1, 1, 0.2, ThreatMode.Malicious, GraphKind.Full, null, 2)]
    [InlineData(20, 4, 257, 20, 0.1, ThreatMode.HonestButCurious, GraphKind.Harary, 6, 2)]
    [InlineData(20, 5, 4096 + 3, 32, 0.15, ThreatMode.Malicious, GraphKind.Harary, 8, 2)]
    [InlineData(12, 4, 33, 7, 0.25, ThreatMode.Malicious, GraphKind.Harary, 6, 3)]
    // t > 64: the coordinator reconstructs from a rented (not stack) buffer of y values; 8 dropped clients' keys rebuilt.
    [InlineData(80, 66, 16, 32, 0.1, ThreatMode.Malicious, GraphKind.Full, null, 2)]
    public void A_pooled_round_gives_the_same_sum_as_the_unpooled_one(int n, int t, int d, int bits, double dropout,
        ThreatMode mode, GraphKind graph, int? degree, int threads)
    {
        var config = new SecAggConfig(n, t, d, bits, mode, graph, degree ?? n - 1, Threads: threads);
        uint[][] inputs = TestSupport.RandomInputs(n, d, bits, (ulong)(n * 1000 + d));

        SecAggOutcome pooled = Run(config, inputs, dropout, pool: true);
        SecAggOutcome unpooled = Run(config, inputs, dropout, pool: false);

        Assert.True(pooled.Completed, pooled.Outcome.ToString());
        Assert.True(unpooled.Completed, unpooled.Outcome.ToString());
        Assert.Equal(unpooled.Contributors, pooled.Contributors);
        Assert.Equal(TestSupport.ExpectedSum(inputs, pooled.Contributors, bits), pooled.Sum);
        Assert.Equal(unpooled.Sum, pooled.Sum);

        // Pooled: at most one buffer per thread in use at once, and no more allocated than that; unpooled: not recycled.
        Assert.NotNull(pooled.Metrics.MaskedInputBuffersAllocated);
        Assert.InRange(pooled.Metrics.MaskedInputBuffersPeak!.Value, 1, threads);
        Assert.Equal(pooled.Metrics.MaskedInputBuffersPeak, pooled.Metrics.MaskedInputBuffersAllocated);
        Assert.Null(unpooled.Metrics.MaskedInputBuffersAllocated);
        Assert.Null(unpooled.Metrics.MaskedInputBuffersPeak);
    }

    [Fact]
    public void Each_clients_masked_input_is_built_in_its_own_buffer_while_the_coordinator_reads_it()
    {
        // A tamper hook turns pooling off, so this observes the unpooled path; the pooled path is observed through the
        // pool itself: with one thread exactly one buffer serves every client, and the sum is still exact, which it would
        // not be if a client wrote into a buffer that still held (or was still being read as) another client's message.
        const int n = 10, d = 300, bits = 16;
        var config = new SecAggConfig(n, 6, d, bits, Threads: 1);
        uint[][] inputs = TestSupport.RandomInputs(n, d, bits, 44);
        SecAggOutcome pooled = Run(config, inputs, 0.0, pool: true);
        Assert.True(pooled.Completed);
        Assert.Equal(1, pooled.Metrics.MaskedInputBuffersAllocated);
        Assert.Equal(TestSupport.ExpectedSum(inputs, pooled.Contributors, bits), pooled.Sum);

        var seen = new List<byte[]>();
        using var rng = DeterministicRandomSource.FromTestSeed(5);
        SecAggOutcome tampered = InProcessRound.Run(config, inputs, new RoundOptions
        {
            Random = rng,
            TamperClientMessage = (_, m) =>
            {
                if (m.MessageCase == ClientToServer.MessageOneofCase.MaskedInput
                    && System.Runtime.InteropServices.MemoryMarshal.TryGetArray(m.MaskedInput.MaskedVector.Memory, out ArraySegment<byte> segment))
                {
                    seen.Add(segment.Array!);
                    Assert.Equal(4 * d, segment.Count);
                }

                return m;
            },
        });
        Assert.True(tampered.Completed);
        Assert.Equal(n, seen.Count);
        Assert.Equal(n, seen.Distinct(ReferenceEqualityComparer.Instance).Count()); // a message owns its bytes off the pool
        Assert.Null(tampered.Metrics.MaskedInputBuffersAllocated);
    }

    [Fact]
    public void Transcripts_and_scripts_turn_pooling_off()
    {
        var config = new SecAggConfig(5, 3, 8, 16, Threads: 1);
        uint[][] inputs = TestSupport.RandomInputs(5, 8, 16, 45);
        SecAggOutcome outcome = TestSupport.Run(config, inputs, transcript: true);
        Assert.True(outcome.Completed);
        Assert.Null(outcome.Metrics.MaskedInputBuffersAllocated);
        Assert.Equal(TestSupport.ExpectedSum(inputs, outcome.Contributors, 16), outcome.Sum);
    }

    [Fact]
    public void The_round_reports_where_it_allocated()
    {
        var config = new SecAggConfig(8, 5, 1000, 32, Threads: 2);
        uint[][] inputs = TestSupport.RandomInputs(8, 1000, 32, 46);
        SecAggOutcome outcome = Run(config, inputs, 0.0, pool: true);
        Assert.True(outcome.Completed);
        foreach (Phase phase in new[] { Phase.AdvertiseKeys, Phase.ShareKeys, Phase.MaskedInput, Phase.Unmasking })
        {
            Assert.True(outcome.Metrics.ClientAllocatedBytes[phase] > 0, phase.ToString());
            Assert.True(outcome.Metrics.CoordinatorAllocatedBytes[phase] > 0, phase.ToString());
        }

        // The coordinator's running sum (one d-word vector) is allocated when ShareKeys closes.
        Assert.True(outcome.Metrics.CoordinatorAllocatedBytes[Phase.ShareKeys] >= 4 * 1000);
    }

    private static SecAggOutcome Run(SecAggConfig config, uint[][] inputs, double dropout, bool pool)
    {
        using var rng = DeterministicRandomSource.FromTestSeed(77);
        DropoutPlan plan = DropoutPlan.Random(config.Clients, dropout, DropPoint.AfterShareKeys, rng);
        return InProcessRound.Run(config, inputs, new RoundOptions { Dropouts = plan, Random = rng, PoolMaskedInputs = pool });
    }
}
