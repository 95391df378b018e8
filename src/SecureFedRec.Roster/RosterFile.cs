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
    /// <remarks>Exactly <c>yyyy-MM-ddTHH:mm:ssZ</c>: ASCII digits at fixed places, year 0001–9999, a day that exists in its
    /// month, hours 00–23, minutes and seconds 00–59 (no leap second), the literal <c>T</c> and <c>Z</c>. The same strings as
    /// <see cref="DateTime.TryParseExact(string, string, IFormatProvider, DateTimeStyles, out DateTime)"/> with that format,
    /// read without it: every member of a roster has two times and every client reads every member each round.</remarks>
    public static bool TryParseTime(string? text, out DateTimeOffset time)
    {
        time = default;
        if (text is not { Length: 20 } || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' || text[19] != 'Z')
        {
            return false;
        }

        if (!Digits(text, 0, 4, out int year) || !Digits(text, 5, 2, out int month) || !Digits(text, 8, 2, out int day)
            || !Digits(text, 11, 2, out int hour) || !Digits(text, 14, 2, out int minute) || !Digits(text, 17, 2, out int second))
        {
            return false;
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        time = new DateTimeOffset(year, month, day, hour, minute, second, TimeSpan.Zero);
        return true;
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
        var rosterAt = new Where("roster");
        FieldSet top = Fields(root, rosterAt, TopFields, optional: ["signature"]);
        string format = Text(top, "format", rosterAt);
        if (format != RosterEncoding.FormatName)
        {
            throw new RosterFormatException(RosterRefusal.UnsupportedFormat, $"format: \"{Clip(format)}\" is not {RosterEncoding.FormatName}");
        }

        string consortium = Text(top, "consortium", rosterAt);
        JsonElement versionElement = Field(top, "version");
        if (versionElement.ValueKind != JsonValueKind.Number || !versionElement.TryGetUInt64(out ulong version) || version > MaxVersion)
        {
            throw Bad($"version: an integer in [0, {MaxVersion}]");
        }

        DateTimeOffset notBefore = Time(top, "notBefore", rosterAt);
        DateTimeOffset notAfter = Time(top, "notAfter", rosterAt);
        var authorityAt = new Where("authority");
        FieldSet authority = Fields(Field(top, "authority"), authorityAt, AuthorityFields, optional: []);
        IdentitySuite authoritySuite = Suite(authority, authorityAt);
        byte[] authorityKey = Hex(authority, "publicKey", authorityAt);

        JsonElement memberArray = Array(top, "members");
        var members = new List<RosterMember>(memberArray.GetArrayLength());
        int i = 0;
        foreach (JsonElement element in memberArray.EnumerateArray())
        {
            var where = new Where("members", i++);
            FieldSet m = Fields(element, where, MemberFields, optional: []);
            members.Add(new RosterMember(Text(m, "organisation", where), Text(m, "clientId", where), Suite(m, where),
                Hex(m, "publicKey", where), Time(m, "notBefore", where), Time(m, "notAfter", where)));
        }

        JsonElement revocationArray = Array(top, "revocations");
        var revocations = new List<RosterRevocation>(revocationArray.GetArrayLength());
        i = 0;
        foreach (JsonElement element in revocationArray.EnumerateArray())
        {
            var where = new Where("revocations", i++);
            FieldSet r = Fields(element, where, RevocationFields, optional: []);
            revocations.Add(new RosterRevocation(Text(r, "organisation", where), Text(r, "clientId", where),
                Suite(r, where), Hex(r, "publicKey", where), Time(r, "revokedAt", where)));
        }

        byte[] signature = [];
        if (Field(top, "signature").ValueKind != JsonValueKind.Undefined)
        {
            signature = Hex(top, "signature", rosterAt);
            if (signature.Length == 0)
            {
                throw Bad("signature: empty");
            }
        }

        var content = new RosterContent(consortium, version, notBefore, notAfter, authoritySuite, authorityKey, members, revocations);
        return new RosterDocument(content, signature);
    }

    /// <summary>The values of an object's fields, in the order of <paramref name="allowed"/> (an absent optional field is
    /// an undefined element). Names are compared without being materialised; a name is only turned into a string for an
    /// error message.</summary>
    private static FieldSet Fields(JsonElement element, Where where, string[] allowed, string[] optional)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Bad(where + ": not an object");
        }

        var fields = new JsonElement[allowed.Length];
        foreach (JsonProperty property in element.EnumerateObject())
        {
            int k = 0;
            while (k < allowed.Length && !property.NameEquals(allowed[k]))
            {
                k++;
            }

            if (k == allowed.Length)
            {
                throw Bad($"{where}: unknown field \"{Clip(property.Name)}\"");
            }

            if (fields[k].ValueKind != JsonValueKind.Undefined)
            {
                throw Bad($"{where}: field \"{allowed[k]}\" given twice");
            }

            fields[k] = property.Value;
        }

        for (int k = 0; k < allowed.Length; k++)
        {
            if (fields[k].ValueKind == JsonValueKind.Undefined && System.Array.IndexOf(optional, allowed[k]) < 0)
            {
                throw Bad($"{where}: missing field \"{allowed[k]}\"");
            }
        }

        return new FieldSet(allowed, fields);
    }

    private static JsonElement Field(FieldSet fields, string name) => fields.Values[System.Array.IndexOf(fields.Names, name)];

    private static string Text(FieldSet fields, string name, Where where)
    {
        JsonElement e = Field(fields, name);
        return e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Bad($"{where}.{name}: not a string");
    }

    private static DateTimeOffset Time(FieldSet fields, string name, Where where) =>
        TryParseTime(Text(fields, name, where), out DateTimeOffset t) ? t : throw Bad($"{where}.{name}: not a time yyyy-MM-ddTHH:mm:ssZ");

    private static byte[] Hex(FieldSet fields, string name, Where where) =>
        TryParseHex(Text(fields, name, where), out byte[] bytes) ? bytes : throw Bad($"{where}.{name}: not lowercase hex of whole bytes");

    private static IdentitySuite Suite(FieldSet fields, Where where)
    {
        string name = Text(fields, "suite", where);
        // An unknown suite becomes an undefined value, refused as UnsupportedSuite by RosterEncoding.Validate in document order.
        return IdentitySignature.TryParse(name, out IdentitySuite suite) ? suite : 0;
    }

    private static JsonElement Array(FieldSet top, string name)
    {
        JsonElement e = Field(top, name);
        if (e.ValueKind != JsonValueKind.Array)
        {
            throw Bad($"roster.{name}: not an array");
        }

        if (e.GetArrayLength() > RosterEncoding.MaxEntries)
        {
            throw Bad($"roster.{name}: more than {RosterEncoding.MaxEntries} entries");
        }

        return e;
    }

    /// <summary>An object's field values in the order of its allowed names (an absent optional field is undefined).</summary>
    private readonly record struct FieldSet(string[] Names, JsonElement[] Values);

    /// <summary>Where a field is, for error messages only: "roster", "authority" or "members[i]" (built when a message is).</summary>
    private readonly record struct Where(string Name, int Index = -1)
    {
        public override string ToString() => Index < 0 ? Name : Name + "[" + Index.ToString(CultureInfo.InvariantCulture) + "]";
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

    private static bool Digits(string text, int start, int count, out int value)
    {
        value = 0;
        for (int i = start; i < start + count; i++)
        {
            char c = text[i];
            if (c is < '0' or > '9')
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }

    private static RosterCheck Malformed(string detail) => new(RosterRefusal.Malformed, detail);

    private static RosterFormatException Bad(string detail) => new(RosterRefusal.Malformed, detail);

    private sealed class RosterFormatException(RosterRefusal refusal, string message) : Exception(message)
    {
        public RosterRefusal Refusal { get; } = refusal;
    }
}
