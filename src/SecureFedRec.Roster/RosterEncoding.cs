using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using SecureFedRec.Crypto;

namespace SecureFedRec.Roster;

/// <summary>
/// The canonical, length-prefixed, domain-separated encoding of a <see cref="RosterContent"/>: the exact bytes an
/// authority signs (<c>protocol-spec/roster.md</c> §4). Not a JSON or protobuf serialization.
/// </summary>
/// <remarks>
/// <para>Encoding: <c>"SecureFedRec/v1"</c> ‖ 0x00 ‖ <c>"roster"</c> ‖ 0x00 ‖ a sequence of parts, each u32 big-endian
/// length ‖ bytes. Integers are parts of fixed width (u32: 4 bytes, u64/i64: 8 bytes, big-endian, times as Unix seconds
/// two's complement); strings are their ASCII bytes; keys their raw bytes. Parts in order: format (u32 = 1), consortium,
/// authority suite name, authority public key, version (u64), not-before, not-after (i64), member count (u32), for each
/// member sorted by (organisation, client id) in byte order: organisation, client id, suite name, public key, not-before,
/// not-after; revocation count (u32), for each revocation sorted by (organisation, client id, public key, revoked-at):
/// organisation, client id, suite name, public key, revoked-at.</para>
/// <para>Every element is a part, so two different contents never share an encoding. Stateless and thread-safe.</para>
/// </remarks>
public static class RosterEncoding
{
    /// <summary>Format number carried in the encoding and the JSON <c>format</c> field (<c>securefedrec-roster/1</c>).</summary>
    public const uint FormatVersion = 1;

    /// <summary>The JSON <c>format</c> value.</summary>
    public const string FormatName = "securefedrec-roster/1";

    /// <summary>Most members a roster may list (and, separately, revocations).</summary>
    public const int MaxEntries = 100_000;

    /// <summary>Longest identifier (consortium, organisation, client id), in characters.</summary>
    public const int MaxIdentifierLength = 64;

    private static readonly byte[] Prefix = Encoding.ASCII.GetBytes("SecureFedRec/v1\0roster\0");

    /// <summary>Whether <paramref name="value"/> is an identifier of roster.md §3: 1..64 characters of
    /// <c>[a-z0-9._-]</c>, starting with a letter or digit. One spelling per name: no case, no Unicode look-alikes.</summary>
    public static bool IsIdentifier(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxIdentifierLength || !IsAlnum(value[0]))
        {
            return false;
        }

        foreach (char c in value)
        {
            if (!IsAlnum(c) && c is not ('.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;

        static bool IsAlnum(char c) => c is (>= 'a' and <= 'z') or (>= '0' and <= '9');
    }

    /// <summary>Checks the syntax of <paramref name="content"/> (roster.md §5 step 2): identifiers, key lengths and points,
    /// whole-second times with not-before &lt; not-after, version ≥ 1, entry counts.</summary>
    public static RosterCheck Validate(RosterContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (!IsIdentifier(content.Consortium))
        {
            return Malformed("consortium: not an identifier ([a-z0-9._-], 1..64, starting with a letter or digit)");
        }

        if (content.Version == 0)
        {
            return Malformed("version: must be ≥ 1");
        }

        RosterCheck check = Window("roster", content.NotBefore, content.NotAfter);
        if (!check.Passed)
        {
            return check;
        }

        check = Key("authority", content.AuthoritySuite, content.AuthorityPublicKey.Span);
        if (!check.Passed)
        {
            return check;
        }

        if (content.Members.Count > MaxEntries || content.Revocations.Count > MaxEntries)
        {
            return Malformed($"at most {MaxEntries} members and {MaxEntries} revocations");
        }

        for (int i = 0; i < content.Members.Count; i++)
        {
            RosterMember m = content.Members[i];
            string where = $"members[{i}]";
            if (!IsIdentifier(m.Organisation) || !IsIdentifier(m.ClientId))
            {
                return Malformed(where + ": organisation or client id is not an identifier");
            }

            check = Key(where, m.Suite, m.PublicKey.Span);
            if (!check.Passed)
            {
                return check;
            }

            check = Window(where, m.NotBefore, m.NotAfter);
            if (!check.Passed)
            {
                return check;
            }
        }

        for (int i = 0; i < content.Revocations.Count; i++)
        {
            RosterRevocation r = content.Revocations[i];
            string where = $"revocations[{i}]";
            if (!IsIdentifier(r.Organisation) || !IsIdentifier(r.ClientId))
            {
                return Malformed(where + ": organisation or client id is not an identifier");
            }

            check = Key(where, r.Suite, r.PublicKey.Span);
            if (!check.Passed)
            {
                return check;
            }

            if (!IsWholeSecond(r.RevokedAt))
            {
                return Malformed(where + ": revokedAt must be a whole second, UTC");
            }
        }

        return RosterCheck.Ok;
    }

    /// <summary>Checks uniqueness (roster.md §5 step 7): organisation+client id once among members, each key once among
    /// members and once among revocations, no member holding a revoked key.</summary>
    public static RosterCheck CheckConsistency(RosterContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var keys = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < content.Members.Count; i++)
        {
            RosterMember m = content.Members[i];
            if (names.TryGetValue(m.Name, out int first))
            {
                return new RosterCheck(RosterRefusal.DuplicateMember, $"members[{i}]: organisation+client id {m.Name} already listed at members[{first}]");
            }

            names[m.Name] = i;
            string key = Convert.ToHexStringLower(m.PublicKey.Span);
            if (keys.TryGetValue(key, out first))
            {
                return new RosterCheck(RosterRefusal.DuplicateKey, $"members[{i}] ({m.Name}): public key already listed at members[{first}] ({content.Members[first].Name})");
            }

            keys[key] = i;
        }

        var revoked = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < content.Revocations.Count; i++)
        {
            RosterRevocation r = content.Revocations[i];
            string key = Convert.ToHexStringLower(r.PublicKey.Span);
            if (!revoked.Add(key))
            {
                return new RosterCheck(RosterRefusal.DuplicateKey, $"revocations[{i}] ({r.Name}): public key revoked twice");
            }

            if (keys.TryGetValue(key, out int member))
            {
                return new RosterCheck(RosterRefusal.RevokedMemberListed, $"members[{member}] ({content.Members[member].Name}): key revoked by revocations[{i}]");
            }
        }

        return RosterCheck.Ok;
    }

    /// <summary>The canonical encoding (roster.md §4). Call <see cref="Validate"/> first: this throws
    /// <see cref="ArgumentException"/> for an identifier or time it cannot encode.</summary>
    public static byte[] Encode(RosterContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        RosterCheck check = Validate(content);
        if (!check.Passed)
        {
            throw new ArgumentException("Cannot encode an invalid roster: " + check, nameof(content));
        }

        using var buffer = new MemoryStream();
        buffer.Write(Prefix);
        PartU32(buffer, FormatVersion);
        PartText(buffer, content.Consortium);
        PartText(buffer, IdentitySignature.NameOf(content.AuthoritySuite));
        Part(buffer, content.AuthorityPublicKey.Span);
        PartU64(buffer, content.Version);
        PartTime(buffer, content.NotBefore);
        PartTime(buffer, content.NotAfter);
        PartU32(buffer, (uint)content.Members.Count);
        foreach (RosterMember m in SortedMembers(content.Members))
        {
            PartText(buffer, m.Organisation);
            PartText(buffer, m.ClientId);
            PartText(buffer, IdentitySignature.NameOf(m.Suite));
            Part(buffer, m.PublicKey.Span);
            PartTime(buffer, m.NotBefore);
            PartTime(buffer, m.NotAfter);
        }

        PartU32(buffer, (uint)content.Revocations.Count);
        foreach (RosterRevocation r in SortedRevocations(content.Revocations))
        {
            PartText(buffer, r.Organisation);
            PartText(buffer, r.ClientId);
            PartText(buffer, IdentitySignature.NameOf(r.Suite));
            Part(buffer, r.PublicKey.Span);
            PartTime(buffer, r.RevokedAt);
        }

        return buffer.ToArray();
    }

    /// <summary>SHA-256 of <see cref="Encode"/>, lowercase hex: the roster's digest (checkpoints, round bindings).</summary>
    public static string Digest(RosterContent content) => Convert.ToHexStringLower(SHA256.HashData(Encode(content)));

    /// <summary>Members in canonical order: (organisation, client id), ordinal.</summary>
    public static IReadOnlyList<RosterMember> SortedMembers(IEnumerable<RosterMember> members) =>
        [.. members.OrderBy(m => m.Organisation, StringComparer.Ordinal).ThenBy(m => m.ClientId, StringComparer.Ordinal)];

    /// <summary>Revocations in canonical order: (organisation, client id, public key bytes, revoked-at).</summary>
    public static IReadOnlyList<RosterRevocation> SortedRevocations(IEnumerable<RosterRevocation> revocations) =>
        [.. revocations.OrderBy(r => r.Organisation, StringComparer.Ordinal).ThenBy(r => r.ClientId, StringComparer.Ordinal)
            .ThenBy(r => Convert.ToHexStringLower(r.PublicKey.Span), StringComparer.Ordinal).ThenBy(r => r.RevokedAt)];

    internal static bool IsWholeSecond(DateTimeOffset t) => t.Offset == TimeSpan.Zero && t.UtcTicks % TimeSpan.TicksPerSecond == 0;

    private static RosterCheck Malformed(string detail) => new(RosterRefusal.Malformed, detail);

    private static RosterCheck Window(string where, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        if (!IsWholeSecond(notBefore) || !IsWholeSecond(notAfter))
        {
            return Malformed(where + ": notBefore and notAfter must be whole seconds, UTC");
        }

        return notBefore < notAfter ? RosterCheck.Ok : Malformed(where + ": notBefore must be before notAfter");
    }

    private static RosterCheck Key(string where, IdentitySuite suite, ReadOnlySpan<byte> key)
    {
        if (suite is not (IdentitySuite.Ed25519 or IdentitySuite.EcdsaP256Sha256))
        {
            return new RosterCheck(RosterRefusal.UnsupportedSuite, where + ": unknown suite");
        }

        int length = IdentitySignature.PublicKeyLength(suite);
        if (key.Length != length)
        {
            return Malformed($"{where}: a {IdentitySignature.NameOf(suite)} public key is {length} bytes, not {key.Length}");
        }

        return IdentitySignature.IsValidPublicKey(suite, key)
            ? RosterCheck.Ok
            : new RosterCheck(RosterRefusal.InvalidPublicKey, $"{where}: not a valid {IdentitySignature.NameOf(suite)} public key");
    }

    private static void Part(Stream buffer, ReadOnlySpan<byte> bytes)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)bytes.Length);
        buffer.Write(length);
        buffer.Write(bytes);
    }

    private static void PartText(Stream buffer, string text) => Part(buffer, Encoding.ASCII.GetBytes(text));

    private static void PartU32(Stream buffer, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        Part(buffer, b);
    }

    private static void PartU64(Stream buffer, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, value);
        Part(buffer, b);
    }

    private static void PartTime(Stream buffer, DateTimeOffset value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(b, value.ToUnixTimeSeconds());
        Part(buffer, b);
    }
}
