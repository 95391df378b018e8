using System.Security.Cryptography;

namespace SecureFedRec.Coordinator.Dashboard;

/// <summary>
/// Dashboard authentication without a shared secret in configuration: an operator asks for a login link with an
/// operator-signed <c>CreateDashboardLogin</c> call (<c>securefedrec dashboard login</c>); the link carries a one-time
/// token that the browser exchanges for a session cookie. Tokens and session ids are 32 bytes from the OS CSPRNG
/// (base64url); only their SHA-256 is held, so a memory dump of the table gives no usable credential.
/// </summary>
/// <remarks>
/// Login tokens are valid for <c>LoginSeconds</c> and redeemable once; sessions last <c>SessionSeconds</c> and end on
/// logout or restart (memory only). At most <see cref="MaxPending"/> unredeemed links and <see cref="MaxSessions"/>
/// sessions: beyond that the oldest is evicted (an operator asks again). Thread-safe (one lock).
/// </remarks>
internal sealed class DashboardSessions(TimeProvider time, TimeSpan loginLifetime, TimeSpan sessionLifetime)
{
    public const int MaxPending = 64;
    public const int MaxSessions = 256;
    private const int TokenBytes = 32;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, (string Operator, DateTimeOffset Expires)> _logins = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Operator, DateTimeOffset Expires)> _sessions = new(StringComparer.Ordinal);

    /// <summary>How long a session lasts.</summary>
    public TimeSpan SessionLifetime => sessionLifetime;

    /// <summary>A new login token for <paramref name="operatorId"/> and when it expires.</summary>
    public (string Token, DateTimeOffset Expires) IssueLogin(string operatorId)
    {
        string token = NewToken();
        DateTimeOffset expires = time.GetUtcNow() + loginLifetime;
        lock (_gate)
        {
            Add(_logins, Hash(token), (operatorId, expires), MaxPending);
        }

        return (token, expires);
    }

    /// <summary>Redeems a login token (once): a new session id and its operator, or null for an unknown, used or expired token.</summary>
    public (string Session, string Operator)? Redeem(string? token)
    {
        if (!IsTokenShaped(token))
        {
            return null;
        }

        string key = Hash(token!);
        lock (_gate)
        {
            if (!_logins.Remove(key, out var login) || login.Expires <= time.GetUtcNow())
            {
                return null;
            }

            string session = NewToken();
            Add(_sessions, Hash(session), (login.Operator, time.GetUtcNow() + sessionLifetime), MaxSessions);
            return (session, login.Operator);
        }
    }

    /// <summary>The operator of a live session, or null.</summary>
    public string? Validate(string? session)
    {
        if (!IsTokenShaped(session))
        {
            return null;
        }

        string key = Hash(session!);
        lock (_gate)
        {
            if (!_sessions.TryGetValue(key, out var s))
            {
                return null;
            }

            if (s.Expires <= time.GetUtcNow())
            {
                _sessions.Remove(key);
                return null;
            }

            return s.Operator;
        }
    }

    /// <summary>Ends a session (logout); returns its operator, or null when there was none.</summary>
    public string? Revoke(string? session)
    {
        if (!IsTokenShaped(session))
        {
            return null;
        }

        lock (_gate)
        {
            return _sessions.Remove(Hash(session!), out var s) ? s.Operator : null;
        }
    }

    private void Add(Dictionary<string, (string, DateTimeOffset Expires)> table, string key, (string, DateTimeOffset) value, int capacity)
    {
        DateTimeOffset now = time.GetUtcNow();
        foreach (string expired in table.Where(kv => kv.Value.Expires <= now).Select(kv => kv.Key).ToList())
        {
            table.Remove(expired);
        }

        while (table.Count >= capacity)
        {
            table.Remove(table.MinBy(kv => kv.Value.Expires).Key);
        }

        table[key] = value;
    }

    private static string NewToken()
    {
        Span<byte> bytes = stackalloc byte[TokenBytes];
        RandomNumberGenerator.Fill(bytes);
        string token = Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        CryptographicOperations.ZeroMemory(bytes);
        return token;
    }

    private static bool IsTokenShaped(string? token) =>
        token is { Length: 43 } && token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(token)));
}
