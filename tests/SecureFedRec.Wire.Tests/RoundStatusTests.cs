using Grpc.Core;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire.Client;

namespace SecureFedRec.Wire.Tests;

/// <summary>The one refusal → status table, and the pin parser.</summary>
public class RoundStatusTests
{
    public static TheoryData<RoundRefusal, StatusCode> Table => new()
    {
        { RoundRefusal.UnknownRound, StatusCode.NotFound },
        { RoundRefusal.NotInCohort, StatusCode.FailedPrecondition },
        { RoundRefusal.PhaseClosed, StatusCode.FailedPrecondition },
        { RoundRefusal.Dropped, StatusCode.FailedPrecondition },
        { RoundRefusal.ConflictingResubmission, StatusCode.AlreadyExists },
        { RoundRefusal.ProtocolRefused, StatusCode.InvalidArgument },
        { RoundRefusal.Finished, StatusCode.FailedPrecondition },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Every_refusal_maps_to_its_status_and_back(RoundRefusal refusal, StatusCode code)
    {
        RpcException ex = RoundStatus.ToException(refusal, "rule X");
        Assert.Equal(code, ex.StatusCode);
        Assert.EndsWith("rule X", ex.Status.Detail, StringComparison.Ordinal);
        Assert.True(RoundStatus.TryParse(ex, out RoundRefusal parsed));
        Assert.Equal(refusal, parsed);
    }

    [Fact]
    public void The_table_covers_every_refusal_but_none()
    {
        foreach (RoundRefusal r in Enum.GetValues<RoundRefusal>().Where(r => r != RoundRefusal.None))
        {
            Assert.False(string.IsNullOrEmpty(RoundStatus.NameOf(r)));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => RoundStatus.ToException(RoundRefusal.None));
    }

    public static TheoryData<string, StatusCode, string?> NotRefusals => new()
    {
        { "no trailer", StatusCode.FailedPrecondition, null },
        { "unknown name", StatusCode.FailedPrecondition, "no-such-refusal" },
        { "name with another status", StatusCode.Internal, "phase-closed" },
    };

    [Theory]
    [MemberData(nameof(NotRefusals))]
    public void Other_failures_are_not_read_as_refusals(string name, StatusCode code, string? trailer)
    {
        var trailers = new Metadata();
        if (trailer is not null)
        {
            trailers.Add(CoordinatorProtocol.RefusalTrailer, trailer);
        }

        Assert.False(RoundStatus.TryParse(new RpcException(new Status(code, name), trailers), out _), name);
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF")]
    [InlineData("ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8=")]
    [InlineData("sha256/ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8=")]
    public void Spki_pins_parse_from_hex_and_base64(string text) =>
        Assert.Equal("spki-sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", CertificatePin.ParseSpki(text).ToString());

    [Theory]
    [InlineData("")]
    [InlineData("0123")]
    [InlineData("zz23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("ASNFZ4mrze8BI0VniavN7wEjRWeJq83v")]
    [InlineData("sha1/ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8=")]
    public void Malformed_pins_are_refused(string text) =>
        Assert.Throws<FormatException>(() => CertificatePin.ParseSpki(text));
}
