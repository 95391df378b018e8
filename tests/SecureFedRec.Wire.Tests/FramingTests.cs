using FsCheck;
using FsCheck.Fluent;
using SecureFedRec.Wire.Internal;

namespace SecureFedRec.Wire.Tests;

public class FramingTests
{
    private const int Max = 1024;

    private static byte[] Hex(string hex) => Convert.FromHexString(hex);

    [Theory]
    [InlineData("", GrpcStatusCode.Internal)]                          // no message at all
    [InlineData("00", GrpcStatusCode.Internal)]                        // truncated prefix, 1 byte
    [InlineData("00000000", GrpcStatusCode.Internal)]                  // truncated prefix, 4 bytes
    [InlineData("0000000003AABB", GrpcStatusCode.Internal)]            // body shorter than its length
    [InlineData("0000000001AABB", GrpcStatusCode.Internal)]            // trailing data after the message
    [InlineData("0000000401", GrpcStatusCode.ResourceExhausted)]       // 1024 + 1 bytes declared
    [InlineData("00FFFFFFFF", GrpcStatusCode.ResourceExhausted)]       // 4 GiB declared, nothing sent
    [InlineData("0100000001AA", GrpcStatusCode.Internal)]              // compressed flag without grpc-encoding
    [InlineData("0200000001AA", GrpcStatusCode.Internal)]              // flag outside {0, 1}
    public void Malformed_frames_get_the_spec_status(string hex, GrpcStatusCode expected)
    {
        FrameResult result = GrpcFraming.ParseSingle(Hex(hex), Max, encoding: null, out _);
        Assert.Equal(expected, result.Status);
        Assert.False(string.IsNullOrEmpty(result.Message));
    }

    [Theory]
    [InlineData("gzip", GrpcStatusCode.Unimplemented)]
    [InlineData("deflate", GrpcStatusCode.Unimplemented)]
    [InlineData("identity", GrpcStatusCode.Internal)]
    public void Compressed_messages_are_refused(string encoding, GrpcStatusCode expected)
    {
        FrameResult result = GrpcFraming.ParseSingle(Hex("0100000001AA"), Max, encoding, out _);
        Assert.Equal(expected, result.Status);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Max)]
    public void Well_formed_frames_round_trip(int length)
    {
        byte[] payload = Enumerable.Range(0, length).Select(i => (byte)i).ToArray();
        byte[] frame = GrpcFraming.Frame(payload);
        Assert.Equal(GrpcFraming.HeaderSize + length, frame.Length);
        FrameResult result = GrpcFraming.ParseSingle(frame, Max, null, out Range range);
        Assert.True(result.IsOk);
        Assert.Equal(payload, frame[range]);
    }

    [Fact]
    public void Any_payload_round_trips_and_any_truncation_is_refused()
    {
        Prop.ForAll<byte[]>(payload =>
        {
            payload ??= [];
            if (payload.Length > Max)
            {
                return true;
            }

            byte[] frame = GrpcFraming.Frame(payload);
            bool roundTrips = GrpcFraming.ParseSingle(frame, Max, null, out Range r).IsOk && frame[r].AsSpan().SequenceEqual(payload);
            bool truncationsRefused = Enumerable.Range(0, frame.Length)
                .All(cut => GrpcFraming.ParseSingle(frame.AsSpan(0, cut), Max, null, out _).Status == GrpcStatusCode.Internal);
            return roundTrips && truncationsRefused;
        }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("7u", 70L)]
    [InlineData("1000n", 10L)]
    [InlineData("99999999S", 999_999_990_000_000L)]
    public void Valid_timeouts_parse(string value, long ticks)
    {
        Assert.True(GrpcFraming.TryParseTimeout(value, out TimeSpan t));
        Assert.Equal(ticks, t.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10s")]
    [InlineData("-1S")]
    [InlineData("123456789S")]
    [InlineData("1.5S")]
    [InlineData(" 1S")]
    public void Invalid_timeouts_are_rejected(string value) =>
        Assert.False(GrpcFraming.TryParseTimeout(value, out _));

    [Theory]
    [InlineData(0L, "0u")]
    [InlineData(10L, "1u")]
    [InlineData(11L, "2u")]
    [InlineData(30_000_000L, "3000000u")]
    [InlineData(36_000_000_000L, "3600000m")]
    public void Timeouts_format_in_the_finest_unit_that_fits(long ticks, string expected) =>
        Assert.Equal(expected, GrpcFraming.FormatTimeout(TimeSpan.FromTicks(ticks)));

    [Fact]
    public void Formatted_timeouts_parse_back_to_at_least_the_original()
    {
        Prop.ForAll<long>(raw =>
        {
            long ticks = Math.Abs(raw % (TimeSpan.TicksPerDay * 30));
            return GrpcFraming.TryParseTimeout(GrpcFraming.FormatTimeout(TimeSpan.FromTicks(ticks)), out TimeSpan back) && back.Ticks >= ticks;
        }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("100%", "100%25")]
    [InlineData("line\nbreak", "line%0Abreak")]
    [InlineData("ε spent", "%CE%B5 spent")]
    public void Status_messages_are_percent_encoded(string message, string encoded)
    {
        Assert.Equal(encoded, GrpcFraming.EncodeMessage(message));
        Assert.Equal(message, GrpcFraming.DecodeMessage(encoded));
    }

    [Theory]
    [InlineData("%")]
    [InlineData("%4")]
    [InlineData("%ZZ")]
    public void Malformed_escapes_decode_leniently(string encoded) =>
        Assert.Equal(encoded, GrpcFraming.DecodeMessage(encoded));

    [Fact]
    public void Any_string_survives_the_status_message_encoding()
    {
        Prop.ForAll<string>(s =>
        {
            s ??= string.Empty;
            // Lone surrogates are not representable in UTF-8; the spec encodes UTF-8.
            string valid = new(s.Where(c => !char.IsSurrogate(c)).ToArray());
            string encoded = GrpcFraming.EncodeMessage(valid);
            return encoded.All(c => c is >= ' ' and <= '~') && GrpcFraming.DecodeMessage(encoded) == valid;
        }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData(400, GrpcStatusCode.Internal)]
    [InlineData(401, GrpcStatusCode.Unauthenticated)]
    [InlineData(403, GrpcStatusCode.PermissionDenied)]
    [InlineData(404, GrpcStatusCode.Unimplemented)]
    [InlineData(429, GrpcStatusCode.Unavailable)]
    [InlineData(502, GrpcStatusCode.Unavailable)]
    [InlineData(503, GrpcStatusCode.Unavailable)]
    [InlineData(504, GrpcStatusCode.Unavailable)]
    [InlineData(500, GrpcStatusCode.Unknown)]
    public void Http_statuses_map_to_grpc_statuses(int http, GrpcStatusCode expected) =>
        Assert.Equal(expected, GrpcFraming.FromHttpStatus(http));

    [Theory]
    [InlineData("0", GrpcStatusCode.OK)]
    [InlineData("16", GrpcStatusCode.Unauthenticated)]
    [InlineData("17", GrpcStatusCode.Unknown)]
    [InlineData("-1", GrpcStatusCode.Unknown)]
    [InlineData("x", GrpcStatusCode.Unknown)]
    [InlineData(null, GrpcStatusCode.Unknown)]
    public void Status_values_parse(string? value, GrpcStatusCode expected) =>
        Assert.Equal(expected, GrpcFraming.ParseStatus(value));

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc; charset=utf-8", true)]
    [InlineData("APPLICATION/GRPC", true)]
    [InlineData("application/grpcx", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void Content_types_are_checked(string? contentType, bool expected) =>
        Assert.Equal(expected, GrpcFraming.IsGrpcContentType(contentType));
}
