using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace SecureFedRec.Wire.Internal;

/// <summary>
/// The one place where the gRPC-over-HTTP/2 wire format is read and written: the 5-byte message prefix
/// (compressed flag, u32 big-endian length), the size limit, the status trailers, <c>grpc-timeout</c> and the
/// percent-encoding of <c>grpc-message</c> (grpc/grpc doc/PROTOCOL-HTTP2.md).
/// </summary>
internal static class GrpcFraming
{
    /// <summary>Length of the message prefix: 1 byte compressed flag + 4 bytes big-endian length.</summary>
    public const int HeaderSize = 5;

    /// <summary>Default maximum message size in either direction (4 MiB, as in the reference gRPC stacks).</summary>
    public const int DefaultMaxMessageSize = 4 * 1024 * 1024;

    public const string ContentType = "application/grpc";
    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string IdentityEncoding = "identity";

    /// <summary>Largest value of a <c>grpc-timeout</c> (at most 8 ASCII digits).</summary>
    private const long MaxTimeoutValue = 99_999_999;

    /// <summary>Whether a content type is a gRPC one: <c>application/grpc</c> or <c>application/grpc+…</c> / <c>;…</c>.</summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (contentType.Length == ContentType.Length)
        {
            return true;
        }

        char next = contentType[ContentType.Length];
        return next is '+' or ';';
    }

    /// <summary>Writes one uncompressed message: prefix then payload.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload)
    {
        var frame = new byte[HeaderSize + payload.Length];
        WriteHeader(frame, payload.Length);
        payload.CopyTo(frame.AsSpan(HeaderSize));
        return frame;
    }

    /// <summary>Writes the 5-byte prefix for an uncompressed message of <paramref name="length"/> bytes.</summary>
    public static void WriteHeader(Span<byte> destination, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        destination[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..HeaderSize], (uint)length);
    }

    /// <summary>
    /// Parses a complete body that must hold exactly one message (a unary request or response).
    /// Returns <see cref="GrpcStatusCode.OK"/> and the payload range, or the status the gRPC spec prescribes:
    /// INTERNAL for a truncated prefix, a length mismatch, a missing message, trailing data, or a compressed message
    /// without <c>grpc-encoding</c>; UNIMPLEMENTED for a compressed message in an encoding this side does not support
    /// (only <c>identity</c> is supported); RESOURCE_EXHAUSTED above <paramref name="maxMessageSize"/>.
    /// </summary>
    public static FrameResult ParseSingle(ReadOnlySpan<byte> body, int maxMessageSize, string? encoding, out Range payload)
    {
        payload = default;
        if (body.Length == 0)
        {
            return FrameResult.Fail(GrpcStatusCode.Internal, "No message received.");
        }

        if (body.Length < HeaderSize)
        {
            return FrameResult.Fail(GrpcStatusCode.Internal, "Incomplete message: truncated length prefix.");
        }

        byte flag = body[0];
        if (flag > 1)
        {
            return FrameResult.Fail(GrpcStatusCode.Internal, "Invalid compressed flag.");
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(body[1..HeaderSize]);
        if (length > (uint)maxMessageSize)
        {
            return FrameResult.Fail(GrpcStatusCode.ResourceExhausted,
                string.Create(CultureInfo.InvariantCulture, $"Received message larger than max ({length} vs. {maxMessageSize})."));
        }

        if (flag == 1)
        {
            if (string.IsNullOrEmpty(encoding) || string.Equals(encoding, IdentityEncoding, StringComparison.Ordinal))
            {
                return FrameResult.Fail(GrpcStatusCode.Internal, "Compressed message without grpc-encoding.");
            }

            return FrameResult.Fail(GrpcStatusCode.Unimplemented, "Unsupported grpc-encoding: only identity is accepted.");
        }

        long end = HeaderSize + (long)length;
        if (body.Length < end)
        {
            return FrameResult.Fail(GrpcStatusCode.Internal, "Incomplete message: body shorter than its length prefix.");
        }

        if (body.Length > end)
        {
            return FrameResult.Fail(GrpcStatusCode.Internal, "Additional data after the message.");
        }

        payload = HeaderSize..(int)end;
        return FrameResult.Ok;
    }

    /// <summary>
    /// Parses a <c>grpc-timeout</c> value: 1 to 8 ASCII digits then one unit of H, M, S, m, u, n.
    /// Returns false for anything else.
    /// </summary>
    public static bool TryParseTimeout(string? value, out TimeSpan timeout)
    {
        timeout = default;
        if (string.IsNullOrEmpty(value) || value.Length < 2 || value.Length > 9)
        {
            return false;
        }

        ReadOnlySpan<char> digits = value.AsSpan(0, value.Length - 1);
        foreach (char c in digits)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        long amount = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        long ticks = value[^1] switch
        {
            'H' => amount * TimeSpan.TicksPerHour,
            'M' => amount * TimeSpan.TicksPerMinute,
            'S' => amount * TimeSpan.TicksPerSecond,
            'm' => amount * TimeSpan.TicksPerMillisecond,
            'u' => amount * 10,
            'n' => amount / 100,
            _ => -1,
        };
        if (ticks < 0)
        {
            return false;
        }

        timeout = TimeSpan.FromTicks(ticks);
        return true;
    }

    /// <summary>Formats a timeout as <c>grpc-timeout</c>, in the finest unit that fits in 8 digits (rounded up).</summary>
    public static string FormatTimeout(TimeSpan timeout)
    {
        long ticks = Math.Max(0, timeout.Ticks);
        (long TicksPerUnit, char Unit)[] units =
        [
            (TimeSpan.TicksPerMicrosecond, 'u'),
            (TimeSpan.TicksPerMillisecond, 'm'),
            (TimeSpan.TicksPerSecond, 'S'),
            (TimeSpan.TicksPerMinute, 'M'),
            (TimeSpan.TicksPerHour, 'H'),
        ];
        foreach ((long ticksPerUnit, char unit) in units)
        {
            long amount = (ticks / ticksPerUnit) + (ticks % ticksPerUnit == 0 ? 0 : 1);
            if (amount <= MaxTimeoutValue)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{amount}{unit}");
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{MaxTimeoutValue}H");
    }

    /// <summary>
    /// Percent-encodes a status message as the spec asks: UTF-8, then every byte outside 0x20–0x7E and '%' as %XX.
    /// </summary>
    public static string EncodeMessage(string message)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(message);
        var sb = new StringBuilder(utf8.Length);
        foreach (byte b in utf8)
        {
            if (b is >= 0x20 and <= 0x7E && b != (byte)'%')
            {
                sb.Append((char)b);
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    /// <summary>Decodes a percent-encoded <c>grpc-message</c>; malformed escapes are kept literally (spec: be lenient).</summary>
    public static string DecodeMessage(string? encoded)
    {
        if (string.IsNullOrEmpty(encoded))
        {
            return string.Empty;
        }

        var bytes = new List<byte>(encoded.Length);
        for (int i = 0; i < encoded.Length; i++)
        {
            char c = encoded[i];
            if (c == '%' && i + 2 < encoded.Length &&
                byte.TryParse(encoded.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
            {
                bytes.Add(b);
                i += 2;
            }
            else if (c <= 0x7F)
            {
                bytes.Add((byte)c);
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>
    /// Maps an HTTP status of a response without <c>grpc-status</c> to a gRPC status (PROTOCOL-HTTP2.md /
    /// doc/http-grpc-status-mapping.md).
    /// </summary>
    public static GrpcStatusCode FromHttpStatus(int httpStatus) => httpStatus switch
    {
        400 => GrpcStatusCode.Internal,
        401 => GrpcStatusCode.Unauthenticated,
        403 => GrpcStatusCode.PermissionDenied,
        404 => GrpcStatusCode.Unimplemented,
        429 or 502 or 503 or 504 => GrpcStatusCode.Unavailable,
        _ => GrpcStatusCode.Unknown,
    };

    /// <summary>Parses a <c>grpc-status</c> value; an unparseable or out-of-range value is UNKNOWN.</summary>
    public static GrpcStatusCode ParseStatus(string? value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int code) && code is >= 0 and <= 16
            ? (GrpcStatusCode)code
            : GrpcStatusCode.Unknown;
}

/// <summary>Outcome of parsing a frame: OK, or the status and message to end the call with.</summary>
internal readonly record struct FrameResult(GrpcStatusCode Status, string Message)
{
    public static FrameResult Ok => new(GrpcStatusCode.OK, string.Empty);

    public bool IsOk => Status == GrpcStatusCode.OK;

    public static FrameResult Fail(GrpcStatusCode status, string message) => new(status, message);
}
