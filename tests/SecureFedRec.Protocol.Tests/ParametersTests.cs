using SecureFedRec.Protocol.Wire;
using GraphKind = SecureFedRec.Protocol.Graph.GraphKind;
using Suite = SecureFedRec.Crypto.KeyAgreementSuite;

namespace SecureFedRec.Protocol.Tests;

public class ParametersTests
{
    public enum Bad
    {
        OneClient,
        IdsNotIncreasing,
        IdZero,
        DimensionZero,
        DimensionTooLarge,
        BitsZero,
        Bits33,
        ThresholdOne,
        ThresholdAboveNeighbourhood,
        MaliciousMinorityThreshold,
        FullGraphWrongDegree,
        HararyOddDegreeOddCount,
        HararyDegreeTooLarge,
        HararyDegreeOne,
        UnknownMode,
        UnknownSuite,
        BindingTooLong,
    }

    [Theory]
    [InlineData(Bad.OneClient)]
    [InlineData(Bad.IdsNotIncreasing)]
    [InlineData(Bad.IdZero)]
    [InlineData(Bad.DimensionZero)]
    [InlineData(Bad.DimensionTooLarge)]
    [InlineData(Bad.BitsZero)]
    [InlineData(Bad.Bits33)]
    [InlineData(Bad.ThresholdOne)]
    [InlineData(Bad.ThresholdAboveNeighbourhood)]
    [InlineData(Bad.MaliciousMinorityThreshold)]
    [InlineData(Bad.FullGraphWrongDegree)]
    [InlineData(Bad.HararyOddDegreeOddCount)]
    [InlineData(Bad.HararyDegreeTooLarge)]
    [InlineData(Bad.HararyDegreeOne)]
    [InlineData(Bad.UnknownMode)]
    [InlineData(Bad.UnknownSuite)]
    [InlineData(Bad.BindingTooLong)]
    public void Invalid_parameters_are_refused_with_a_reason(Bad bad)
    {
        int[] ids = [1, 2, 3, 4, 5, 6];
        int t = 4, d = 8, bits = 16, k = 5;
        var mode = ThreatMode.Malicious;
        var suite = Suite.X25519;
        var graph = GraphKind.Full;
        byte[] binding = [];
        switch (bad)
        {
            case Bad.OneClient: ids = [1]; k = 0; t = 1; break;
            case Bad.IdsNotIncreasing: ids = [1, 3, 2, 4, 5, 6]; break;
            case Bad.IdZero: ids = [0, 2, 3, 4, 5, 6]; break;
            case Bad.DimensionZero: d = 0; break;
            case Bad.DimensionTooLarge: d = SecAggParameters.MaxDimension + 1; break;
            case Bad.BitsZero: bits = 0; break;
            case Bad.Bits33: bits = 33; break;
            case Bad.ThresholdOne: t = 1; mode = ThreatMode.HonestButCurious; break;
            case Bad.ThresholdAboveNeighbourhood: t = 7; break;
            case Bad.MaliciousMinorityThreshold: t = 3; break;
            case Bad.FullGraphWrongDegree: k = 4; break;
            case Bad.HararyOddDegreeOddCount: ids = [1, 2, 3, 4, 5]; graph = GraphKind.Harary; k = 3; t = 3; break;
            case Bad.HararyDegreeTooLarge: graph = GraphKind.Harary; k = 6; break;
            case Bad.HararyDegreeOne: graph = GraphKind.Harary; mode = ThreatMode.HonestButCurious; k = 1; t = 2; break;
            case Bad.UnknownMode: mode = (ThreatMode)7; break;
            case Bad.UnknownSuite: suite = (Suite)9; break;
            case Bad.BindingTooLong: binding = new byte[SecAggParameters.MaxBindingLength + 1]; break;
        }

        Assert.False(SecAggParameters.TryCreate(1, ids, t, d, bits, mode, suite, graph, k, binding, out SecAggParameters? p, out string? error));
        Assert.Null(p);
        Assert.False(string.IsNullOrWhiteSpace(error));
        Assert.Throws<ArgumentException>(() => SecAggParameters.Create(1, ids, t, d, bits, mode, suite, graph, k, binding));
    }

    [Fact]
    public void Wire_round_trip_keeps_the_digest()
    {
        SecAggParameters p = SecAggParameters.Create(9, [2, 5, 7, 11], 3, 10, 20, ThreatMode.Malicious, Suite.P256, GraphKind.Full, 3, [1, 2, 3]);
        Assert.True(SecAggParameters.TryFromWire(p.ToWire(), out SecAggParameters? back, out _));
        Assert.True(p.SameAs(back));
        Assert.Equal(p.Digest.ToArray(), back.Digest.ToArray());
    }

    [Theory]
    [InlineData("round")]
    [InlineData("threshold")]
    [InlineData("binding")]
    [InlineData("mode")]
    [InlineData("suite")]
    [InlineData("ids")]
    public void Every_field_changes_the_digest(string field)
    {
        SecAggParameters a = SecAggParameters.Create(9, [1, 2, 3, 4], 3, 10, 20, ThreatMode.Malicious, Suite.X25519, GraphKind.Full, 3, [1]);
        SecAggParameters b = field switch
        {
            "round" => SecAggParameters.Create(10, [1, 2, 3, 4], 3, 10, 20, ThreatMode.Malicious, Suite.X25519, GraphKind.Full, 3, [1]),
            "threshold" => SecAggParameters.Create(9, [1, 2, 3, 4], 4, 10, 20, ThreatMode.Malicious, Suite.X25519, GraphKind.Full, 3, [1]),
            "binding" => SecAggParameters.Create(9, [1, 2, 3, 4], 3, 10, 20, ThreatMode.Malicious, Suite.X25519, GraphKind.Full, 3, [2]),
            "mode" => SecAggParameters.Create(9, [1, 2, 3, 4], 3, 10, 20, ThreatMode.HonestButCurious, Suite.X25519, GraphKind.Full, 3, [1]),
            "suite" => SecAggParameters.Create(9, [1, 2, 3, 4], 3, 10, 20, ThreatMode.Malicious, Suite.P256, GraphKind.Full, 3, [1]),
            _ => SecAggParameters.Create(9, [1, 2, 3, 5], 3, 10, 20, ThreatMode.Malicious, Suite.X25519, GraphKind.Full, 3, [1]),
        };
        Assert.False(a.SameAs(b));
    }

    [Theory]
    [InlineData(KeyAgreementSuite.Unspecified, GraphKind.Full)]
    [InlineData(KeyAgreementSuite.X25519, (GraphKind)0)]
    public void Wire_parameters_with_unknown_enums_are_refused(KeyAgreementSuite suite, GraphKind graph)
    {
        RoundParameters wire = SecAggParameters.Create(1, [1, 2, 3], 2, 4, 8).ToWire();
        wire.Suite = suite;
        if (graph == 0)
        {
            wire.GraphKind = Wire.GraphKind.Unspecified;
        }

        Assert.False(SecAggParameters.TryFromWire(wire, out _, out string? error));
        Assert.NotNull(error);
    }

    [Theory]
    [InlineData(2, 0)]
    [InlineData(63, 3)]
    [InlineData(64, 1024)]
    [InlineData(65, 17)]
    [InlineData(1000, 0)]
    public void The_streamed_digest_is_the_encoding_of_the_specification(int n, int bindingLength)
    {
        // The ids stream into the hash in 64-id chunks: n around the chunk size, and a long cohort.
        int[] ids = [.. Enumerable.Range(0, n).Select(i => (3 * i) + 1)];
        byte[] binding = [.. Enumerable.Range(0, bindingLength).Select(i => (byte)i)];
        SecAggParameters p = SecAggParameters.Create(77, ids, 2, 100, 24, ThreatMode.HonestButCurious, Suite.X25519,
            GraphKind.Full, n - 1, binding);
        byte[] expected = Internal.Encoder.For(Internal.Derivations.ParametersPurpose)
            .AddU64(77).AddIds(ids).AddU32(2).AddU32(100).AddU32(24).AddU32((uint)ThreatMode.HonestButCurious)
            .AddU32((uint)Suite.X25519).AddU32((uint)GraphKind.Full).AddU32((uint)(n - 1)).Add(binding).Sha256();
        Assert.Equal(expected, p.Digest.ToArray());
        Assert.True(SecAggParameters.TryFromWire(p.ToWire(), out SecAggParameters? back, out _));
        Assert.Equal(expected, back.Digest.ToArray());
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(4, 1)]
    [InlineData(40, 13)]
    [InlineData(2, -1)]
    [InlineData(0, -1)]
    [InlineData(-4, -1)]
    [InlineData(41, -1)]
    [InlineData(int.MaxValue, -1)]
    public void IndexOf_finds_cohort_members_and_only_them(int id, int index)
    {
        SecAggParameters p = SecAggParameters.Create(1, [.. Enumerable.Range(0, 14).Select(i => (3 * i) + 1)], 2, 4, 8);
        Assert.Equal(index, p.IndexOf(id));
        Assert.Equal(index >= 0, p.Contains(id));
        if (index >= 0)
        {
            Assert.Equal(id, p.IdAt(index));
        }
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(0x8000_0000u)]
    [InlineData(uint.MaxValue)]
    public void Wire_ids_out_of_range_are_refused(uint bad)
    {
        RoundParameters wire = SecAggParameters.Create(1, [1, 2, 3], 2, 4, 8).ToWire();
        wire.ClientIds[1] = bad;
        Assert.False(SecAggParameters.TryFromWire(wire, out _, out string? error));
        Assert.Equal("A numeric field is out of range.", error);
    }
}
