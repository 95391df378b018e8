using System.Globalization;
using System.Text;
using System.Text.Json;
using SecureFedRec.Crypto;

namespace SecureFedRec.Roster;

/// <summary>A roster read from its JSON file: the content and, when signed, the authority's signature.</summary>
/// <param name="Content">What is (or will be) signed.</param>
/// <param name="Signature">The signature over <see cref="RosterEncoding.Encode"/>, or empty for a draft.</param>
public sealed record RosterDocument(RosterContent Content, ReadOnlyMemory<byte> Signature)
{
    /// <summary>Whether the document carries a signature (a signed roster rather than a draft).</summary>
    public bool IsSigned => !Signature.IsEmpty;
}

/// <summary>
/// The human-readable JSON file of a roster (<c>protocol-spec/roster.md</c> §3): a draft (no <c>signature</c>) or a signed
/// roster. The JSON is a container only; what is signed is <see cref="RosterEncoding.Encode"/> of the parsed content.
/// </summary>
/// <remarks>
/// Parsing is strict so that a file has one reading: UTF-8 JSON of at most <see cref="MaxFileBytes"/>, no duplicated,
/// unknown or missing field, lowercase hex, times exactly <c>yyyy-MM-ddTHH:mm:ssZ</c>, version an integer in
/// [1, 2^53 − 1]. Stateless and thread-safe.
/// </remarks>
public static class RosterFile
{
    /// <summary>Largest roster file accepted (16 MiB).</summary>
    public const int MaxFileBytes = 16 * 1024 * 1024;

    /// <summary>Largest version (2^53 − 1, exact in every JSON reader).</summary>
    public const ulong MaxVersion = (1UL << 53) - 1;

    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'";

    private static readonly string[] TopFields = ["format", "consortium", "version", "notBefore", "notAfter", "authority", "members", "revocations", "signature"];
    private static readonly string[] AuthorityFields = ["suite", "publicKey"];
    private static readonly string[] MemberFields = ["organisation", "clientId", "suite", "publicKey", "notBefore", "notAfter"];
    private static readonly string[] RevocationFields = ["organisation", "clientId", "suite", "publicKey", "revokedAt"];

    /// <summary>Parses a roster file. Refusals: <see cref="RosterRefusal.Malformed"/>, <see cref="RosterRefusal.UnsupportedFormat"/>,
    /// <see cref="RosterRefusal.UnsupportedSuite"/> (a suite name is kept as an undefined <see cref="IdentitySuite"/> so that
    /// <see cref="RosterEncoding.Validate"/> reports it in document order). Never throws for bad input.</summary>
    public static RosterCheck TryParse(ReadOnlySpan<byte> utf8, out RosterDocument? document)
    {
        document = null;
        if (utf8.Length > MaxFileBytes)
        {
            return Malformed($"larger than {MaxFileBytes} bytes");
        }

        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(utf8.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException ex)
        {
            return Malformed("not JSON (" + ex.Message.Split('.')[0] + ")");
        }

        using (json)
        {
            try
            {
                document = Read(json.RootElement);
                return RosterCheck.Ok;
            }
            catch (RosterFormatException ex)
            {
                return new RosterCheck(ex.Refusal, ex.Message);
            }
            catch (InvalidOperationException)
            {
                // System.Text.Json validates UTF-8 inside strings only when they are read.
                return Malformed("a string or field name is not valid UTF-8");
            }
        }
    }

    /// <summary>Writes <paramref name="document"/> as indented JSON (members and revocations in canonical order), UTF-8 with a
    /// final newline. A draft has no <c>signature</c> field.</summary>
    public static byte[] Format(RosterDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        RosterContent c = document.Content;
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", RosterEncoding.FormatName);
            w.WriteString("consortium", c.Consortium);
            w.WriteNumber("version", c.Version);
            w.WriteString("notBefore", FormatTime(c.NotBefore));
            w.WriteString("notAfter", FormatTime(c.NotAfter));
            w.WriteStartObject("authority");
            w.WriteString("suite", IdentitySignature.NameOf(c.AuthoritySuite));
            w.WriteString("publicKey", Convert.ToHexStringLower(c.AuthorityPublicKey.Span));
            w.WriteEndObject();
            w.WriteStartArray("members");
            foreach (RosterMember m in RosterEncoding.SortedMembers(c.Members))
            {
                w.WriteStartObject();
                w.WriteString("organisation", m.Organisation);
                w.WriteString("clientId", m.ClientId);
                w.WriteString("suite", IdentitySignature.NameOf(m.Suite));
                w.WriteString("publicKey", Convert.ToHexStringLower(m.PublicKey.Span));
                w.WriteString("notBefore", FormatTime(m.NotBefore));
                w.WriteString("notAfter", FormatTime(m.NotAfter));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("revocations");
            foreach (RosterRevocation r in RosterEncoding.SortedRevocations(c.Revocations))
            {
                w.WriteStartObject();
                w.WriteString("organisation", r.Organisation);
                w.WriteString("clientId", r.ClientId);
                w.WriteString("suite", IdentitySignature.NameOf(r.Suite));
                w.WriteString("publicKey", Convert.ToHexStringLower(r.PublicKey.Span));
                w.WriteString("revokedAt", FormatTime(r.RevokedAt));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (document.IsSigned)
            {
                w.WriteString("signature", Convert.ToHexStringLower(document.Signature.Span));
            }

            w.WriteEndObject();
        }

        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

    /// <summary>Formats a time as the file does: <c>yyyy-MM-ddTHH:mm:ssZ</c>.</summary>
    public static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    /// <summary>Parses a time in the file's format (UTC, whole seconds); false otherwise.</summary>
    public static bool TryParseTime(string? text, out DateTimeOffset time)
    {
        if (text is { Length: 20 } && DateTime.TryParseExact(text, TimeFormat, CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime parsed))
        {
            time = new DateTimeOffset(parsed, TimeSpan.Zero);
            return true;
        }

        time = default;
        return false;
    }

    /// <summary>Parses lowercase hex (even length); false for anything else.</summary>
    public static bool TryParseHex(string? text, out byte[] bytes)
    {
        bytes = [];
        if (text is null || text.Length % 2 != 0)
        {
            return false;
        }

        foreach (char ch in text)
        {
            if (ch is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        bytes = Convert.FromHexString(text);
        return true;
    }

    private static RosterDocument Read(JsonElement root)
    {
        Dictionary<string, JsonElement> top = Fields(root, "roster", TopFields, optional: ["signature"]);
        string format = Text(top, "format", "roster");
        if (format != RosterEncoding.FormatName)
        {
            throw new RosterFormatException(RosterRefusal.UnsupportedFormat, $"format: \"{Clip(format)}\" is not {RosterEncoding.FormatName}");
        }

        string consortium = Text(top, "consortium", "roster");
        JsonElement versionElement = top["version"];
        if (versionElement.ValueKind != JsonValueKind.Number || !versionElement.TryGetUInt64(out ulong version) || version > MaxVersion)
        {
            throw Bad($"version: an integer in [0, {MaxVersion}]");
        }

        DateTimeOffset notBefore = Time(top, "notBefore", "roster");
        DateTimeOffset notAfter = Time(top, "notAfter", "roster");
        Dictionary<string, JsonElement> authority = Fields(top["authority"], "authority", AuthorityFields, optional: []);
        IdentitySuite authoritySuite = Suite(authority, "authority");
        byte[] authorityKey = Hex(authority, "publicKey", "authority");

        var members = new List<RosterMember>();
        int i = 0;
        foreach (JsonElement element in Array(top, "members"))
        {
            string where = $"members[{i++}]";
            Dictionary<string, JsonElement> m = Fields(element, where, MemberFields, optional: []);
            members.Add(new RosterMember(Text(m, "organisation", where), Text(m, "clientId", where), Suite(m, where), Hex(m, "publicKey", where),
                Time(m, "notBefore", where), Time(m, "notAfter", where)));
        }

        var revocations = new List<RosterRevocation>();
        i = 0;
        foreach (JsonElement element in Array(top, "revocations"))
        {
            string where = $"revocations[{i++}]";
            Dictionary<string, JsonElement> r = Fields(element, where, RevocationFields, optional: []);
            revocations.Add(new RosterRevocation(Text(r, "organisation", where), Text(r, "clientId", where), Suite(r, where), Hex(r, "publicKey", where),
                Time(r, "revokedAt", where)));
        }

        byte[] signature = [];
        if (top.ContainsKey("signature"))
        {
            signature = Hex(top, "signature", "roster");
            if (signature.Length == 0)
            {
                throw Bad("signature: empty");
            }
        }

        var content = new RosterContent(consortium, version, notBefore, notAfter, authoritySuite, authorityKey, members, revocations);
        return new RosterDocument(content, signature);
    }

    private static Dictionary<string, JsonElement> Fields(JsonElement element, string where, string[] allowed, string[] optional)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Bad(where + ": not an object");
        }

        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (JsonProperty property in element.EnumerateObject())
        {
            if (System.Array.IndexOf(allowed, property.Name) < 0)
            {
                throw Bad($"{where}: unknown field \"{Clip(property.Name)}\"");
            }

            if (!fields.TryAdd(property.Name, property.Value))
            {
                throw Bad($"{where}: field \"{property.Name}\" given twice");
            }
        }

        foreach (string name in allowed)
        {
            if (!fields.ContainsKey(name) && System.Array.IndexOf(optional, name) < 0)
            {
                throw Bad($"{where}: missing field \"{name}\"");
            }
        }

        return fields;
    }

    private static string Text(Dictionary<string, JsonElement> fields, string name, string where)
    {
        JsonElement e = fields[name];
        return e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Bad($"{where}.{name}: not a string");
    }

    private static DateTimeOffset Time(Dictionary<string, JsonElement> fields, string name, string where) =>
        TryParseTime(Text(fields, name, where), out DateTimeOffset t) ? t : throw Bad($"{where}.{name}: not a time yyyy-MM-ddTHH:mm:ssZ");

    private static byte[] Hex(Dictionary<string, JsonElement> fields, string name, string where) =>
        TryParseHex(Text(fields, name, where), out byte[] bytes) ? bytes : throw Bad($"{where}.{name}: not lowercase hex of whole bytes");

    private static IdentitySuite Suite(Dictionary<string, JsonElement> fields, string where)
    {
        string name = Text(fields, "suite", where);
        // An unknown suite becomes an undefined value, refused as UnsupportedSuite by RosterEncoding.Validate in document order.
        return IdentitySignature.TryParse(name, out IdentitySuite suite) ? suite : 0;
    }

    private static JsonElement.ArrayEnumerator Array(Dictionary<string, JsonElement> fields, string name)
    {
        JsonElement e = fields[name];
        if (e.ValueKind != JsonValueKind.Array)
        {
            throw Bad($"roster.{name}: not an array");
        }

        if (e.GetArrayLength() > RosterEncoding.MaxEntries)
        {
            throw Bad($"roster.{name}: more than {RosterEncoding.MaxEntries} entries");
        }

        return e.EnumerateArray();
    }

    private static string Clip(string text)
    {
        var sb = new StringBuilder();
        foreach (char c in text.Length > 40 ? text[..40] : text)
        {
            sb.Append(c is >= ' ' and < (char)0x7F ? c : '?');
        }

        return sb.ToString();
    }

    private static RosterCheck Malformed(string detail) => new(RosterRefusal.Malformed, detail);

    private static RosterFormatException Bad(string detail) => new(RosterRefusal.Malformed, detail);

    private sealed class RosterFormatException(RosterRefusal refusal, string message) : Exception(message)
    {
        public RosterRefusal Refusal { get; } = refusal;
    }
}
