using System.Globalization;
using SecureFedRec.Wire.Auth;

namespace SecureFedRec.Coordinator;

/// <summary>
/// The operator's allow-list of client identity keys (Ed25519 32 bytes, or ECDSA P-256 65-byte SEC1 uncompressed; hex,
/// either case). File format: one client per line, <c>HEX_PUBLIC_KEY [display name]</c>; blank lines and lines starting
/// with <c>#</c> are ignored. For roster-less development deployments only (honest-but-curious threat model): a
/// production deployment configures a signed roster instead (<see cref="RosterOptions"/>), which the coordinator cannot
/// alter.
/// </summary>
/// <remarks>Immutable after loading; thread-safe. Malformed entries are refused with the line number.</remarks>
public sealed class AllowList
{
    private readonly Dictionary<string, (byte[] Key, string Name)> _byId;

    private AllowList(Dictionary<string, (byte[] Key, string Name)> byId) => _byId = byId;

    /// <summary>Number of allowed clients.</summary>
    public int Count => _byId.Count;

    /// <summary>Builds the allow-list from a file's lines and inline entries.</summary>
    public static AllowList Load(string? path, IEnumerable<string> inline)
    {
        var byId = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        var lines = new List<(string Source, string Line)>();
        if (!string.IsNullOrEmpty(path))
        {
            string[] fileLines = File.ReadAllLines(path);
            for (int i = 0; i < fileLines.Length; i++)
            {
                lines.Add((path + ":" + (i + 1).ToString(CultureInfo.InvariantCulture), fileLines[i]));
            }
        }

        lines.AddRange(inline.Select((l, i) => ("AllowList[" + i.ToString(CultureInfo.InvariantCulture) + "]", l)));
        foreach ((string source, string raw) in lines)
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            int space = line.IndexOf(' ', StringComparison.Ordinal);
            string hex = space < 0 ? line : line[..space];
            string name = space < 0 ? string.Empty : line[(space + 1)..].Trim();
            byte[] key;
            try
            {
                key = Convert.FromHexString(hex);
            }
            catch (FormatException)
            {
                throw new FormatException(source + ": not a hex public key.");
            }

            if (!RequestSignature.TrySuiteOf(key, out Crypto.IdentitySuite suite) || !Crypto.IdentitySignature.IsValidPublicKey(suite, key))
            {
                throw new FormatException(source + ": expected an identity public key: 64 hex digits (Ed25519) or 130 hex digits starting 04 (uncompressed P-256), a valid point.");
            }

            byId[RequestSignature.ClientIdOf(key)] = (key, name);
        }

        return new AllowList(byId);
    }

    /// <summary>The public key of an allowed client id, or null.</summary>
    public byte[]? Find(string clientId) => _byId.TryGetValue(clientId, out var entry) ? (byte[])entry.Key.Clone() : null;

    /// <summary>The operator's display name of an allowed client id.</summary>
    public string NameOf(string clientId) => _byId.TryGetValue(clientId, out var entry) ? entry.Name : string.Empty;
}
