using System.Diagnostics.CodeAnalysis;
using SecureFedRec.Crypto;

namespace SecureFedRec.Roster;

/// <summary>
/// A pinned enrolment-authority key as configured: <c>SUITE:HEX</c> (<c>ed25519:&lt;64 lowercase hex&gt;</c> or
/// <c>ecdsa-p256-sha256:&lt;130 lowercase hex&gt;</c>), the format <c>securefedrec roster init</c> prints and
/// <c>roster verify --authority</c>, the coordinator's <c>Roster:Authority</c> and the client's <c>RosterAuthority</c> read.
/// </summary>
/// <param name="Suite">The authority key's suite.</param>
/// <param name="PublicKey">The authority's public key.</param>
public readonly record struct RosterPin(IdentitySuite Suite, ReadOnlyMemory<byte> PublicKey)
{
    /// <summary>The rule, for error messages.</summary>
    public const string Rule = "SUITE:HEX of a valid public key (ed25519:<64 lowercase hex digits> or ecdsa-p256-sha256:<130 lowercase hex digits>)";

    /// <summary>Parses <c>SUITE:HEX</c>; false for anything else, including a key that is not a valid point of its suite.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out RosterPin pin)
    {
        pin = default;
        string[] parts = text?.Split(':') ?? [];
        if (parts.Length != 2 || !IdentitySignature.TryParse(parts[0], out IdentitySuite suite) || !RosterFile.TryParseHex(parts[1], out byte[] key)
            || !IdentitySignature.IsValidPublicKey(suite, key))
        {
            return false;
        }

        pin = new RosterPin(suite, key);
        return true;
    }

    /// <summary>A verifier pinned to this key (<paramref name="allowedSuites"/> as in <see cref="RosterVerifier"/>).</summary>
    public RosterVerifier CreateVerifier(IReadOnlySet<IdentitySuite>? allowedSuites = null) => new(Suite, PublicKey.Span, allowedSuites);

    /// <inheritdoc />
    public override string ToString() => IdentitySignature.NameOf(Suite) + ":" + Convert.ToHexStringLower(PublicKey.Span);
}

/// <summary>A roster (or this party's own entry in it) was refused: <see cref="Check"/> names the rule of
/// <c>protocol-spec/roster.md</c> §5–§6 that failed. Thrown before any round key is generated; nothing was charged.</summary>
public sealed class RosterRefusedException : Exception
{
    /// <summary>Creates the exception for <paramref name="check"/>, seen at <paramref name="source"/> (a file or an address).</summary>
    public RosterRefusedException(RosterCheck check, string source)
        : base($"roster refused: {check.Refusal}: {check.Detail} ({source})")
    {
        Check = check;
        Origin = source;
    }

    /// <summary>The refusal and its detail.</summary>
    public RosterCheck Check { get; }

    /// <summary>The file or coordinator the roster came from.</summary>
    public string Origin { get; }

    /// <summary>The refusal (shorthand for <c>Check.Refusal</c>).</summary>
    public RosterRefusal Refusal => Check.Refusal;
}
