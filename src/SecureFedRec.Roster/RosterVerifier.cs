using SecureFedRec.Crypto;

namespace SecureFedRec.Roster;

/// <summary>The result of <see cref="RosterVerifier.Verify"/>: a passing check and the roster, or a refusal.</summary>
/// <param name="Check">The outcome; <see cref="RosterRefusal.None"/> when the roster is accepted.</param>
/// <param name="Roster">The accepted roster, null when refused.</param>
public sealed record RosterVerification(RosterCheck Check, VerifiedRoster? Roster);

/// <summary>
/// Verifies a signed roster file against a pinned authority key (<c>protocol-spec/roster.md</c> §5), in a fixed order so
/// that every implementation reports the same first refusal: parse, syntax, suite policy, signature length, authority,
/// signature, uniqueness, roster validity, rollback / equivocation.
/// </summary>
/// <remarks>Immutable and thread-safe. Never throws for bad input: every problem is a <see cref="RosterRefusal"/>. The
/// verifier does not remember what it accepted: the caller persists <see cref="VerifiedRoster.Checkpoint"/> and passes it
/// back as <c>lastSeen</c>.</remarks>
public sealed class RosterVerifier
{
    private readonly byte[] _authorityKey;
    private readonly IReadOnlySet<IdentitySuite> _allowedSuites;

    /// <summary>Pins the authority key (<paramref name="authoritySuite"/>, <paramref name="authorityPublicKey"/>). Members'
    /// keys must be of a suite in <paramref name="allowedSuites"/> (null ⇒ both suites; a FIPS deployment passes only
    /// <see cref="IdentitySuite.EcdsaP256Sha256"/>).</summary>
    /// <exception cref="ArgumentException">The pinned key is not a valid key of its suite, or its suite is not allowed.</exception>
    public RosterVerifier(IdentitySuite authoritySuite, ReadOnlySpan<byte> authorityPublicKey, IReadOnlySet<IdentitySuite>? allowedSuites = null)
    {
        _allowedSuites = allowedSuites ?? new HashSet<IdentitySuite> { IdentitySuite.Ed25519, IdentitySuite.EcdsaP256Sha256 };
        if (!IdentitySignature.IsValidPublicKey(authoritySuite, authorityPublicKey) || !_allowedSuites.Contains(authoritySuite))
        {
            throw new ArgumentException("The pinned authority key is not a valid public key of an allowed suite.", nameof(authorityPublicKey));
        }

        AuthoritySuite = authoritySuite;
        _authorityKey = authorityPublicKey.ToArray();
    }

    /// <summary>Suite of the pinned authority key.</summary>
    public IdentitySuite AuthoritySuite { get; }

    /// <summary>The suites members' keys may use (step 2 of the check).</summary>
    public IReadOnlySet<IdentitySuite> AllowedSuites => _allowedSuites;

    /// <summary>The pinned authority key.</summary>
    public ReadOnlySpan<byte> AuthorityPublicKey => _authorityKey;

    /// <summary>Verifies the roster file <paramref name="file"/> at <paramref name="now"/>; <paramref name="lastSeen"/> is the
    /// checkpoint of the last roster this party accepted (null when none).</summary>
    public RosterVerification Verify(ReadOnlySpan<byte> file, DateTimeOffset now, RosterCheckpoint? lastSeen = null)
    {
        // 1. Parse.
        RosterCheck check = RosterFile.TryParse(file, out RosterDocument? document);
        if (!check.Passed)
        {
            return Refuse(check);
        }

        RosterContent content = document!.Content;

        // 2. Syntax: identifiers, suites, key lengths and points, times.
        check = RosterEncoding.Validate(content);
        if (!check.Passed)
        {
            return Refuse(check);
        }

        // 3. Suite policy.
        if (!_allowedSuites.Contains(content.AuthoritySuite))
        {
            return Refuse(RosterRefusal.UnsupportedSuite, $"authority: suite {IdentitySignature.NameOf(content.AuthoritySuite)} is not allowed here");
        }

        for (int i = 0; i < content.Members.Count; i++)
        {
            if (!_allowedSuites.Contains(content.Members[i].Suite))
            {
                return Refuse(RosterRefusal.UnsupportedSuite, $"members[{i}] ({content.Members[i].Name}): suite {IdentitySignature.NameOf(content.Members[i].Suite)} is not allowed here");
            }
        }

        // 4. A signature of the authority suite's length.
        if (!document.IsSigned)
        {
            return Refuse(RosterRefusal.Malformed, "signature: missing (this is an unsigned draft)");
        }

        int signatureLength = IdentitySignature.SignatureLength(content.AuthoritySuite);
        if (document.Signature.Length != signatureLength)
        {
            return Refuse(RosterRefusal.Malformed, $"signature: {document.Signature.Length} bytes, a {IdentitySignature.NameOf(content.AuthoritySuite)} signature is {signatureLength}");
        }

        // 5. The authority named in the file is the pinned one.
        if (content.AuthoritySuite != AuthoritySuite || !content.AuthorityPublicKey.Span.SequenceEqual(_authorityKey))
        {
            return Refuse(RosterRefusal.UnknownAuthority,
                $"authority: {IdentitySignature.NameOf(content.AuthoritySuite)} key {Short(content.AuthorityPublicKey.Span)} is not the pinned {IdentitySignature.NameOf(AuthoritySuite)} key {Short(_authorityKey)}");
        }

        // 6. The signature over the canonical encoding.
        byte[] encoded = RosterEncoding.Encode(content);
        if (!IdentitySignature.Verify(AuthoritySuite, _authorityKey, encoded, document.Signature.Span))
        {
            return Refuse(RosterRefusal.BadSignature, "signature: does not verify over the canonical encoding under the pinned authority key");
        }

        // 7. Uniqueness and revocations.
        check = RosterEncoding.CheckConsistency(content);
        if (!check.Passed)
        {
            return Refuse(check);
        }

        // 8–10. Validity, rollback and equivocation: the steps that depend on the caller, not on the bytes.
        string digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(encoded));
        return Accept(new VerifiedRoster(content, digest), now, lastSeen);
    }

    /// <summary>Steps 8–10 of <see cref="Verify"/> for a roster whose bytes already passed steps 1–7 under this kind of
    /// verifier: its validity at <paramref name="now"/>, then rollback and equivocation against <paramref name="lastSeen"/>
    /// (the same refusals and details as <see cref="Verify"/>).</summary>
    public static RosterVerification Accept(VerifiedRoster roster, DateTimeOffset now, RosterCheckpoint? lastSeen = null)
    {
        ArgumentNullException.ThrowIfNull(roster);
        RosterContent content = roster.Content;
        string digest = roster.Digest;

        // 8. The roster's own validity.
        if (now < content.NotBefore)
        {
            return Refuse(RosterRefusal.RosterNotYetValid, $"roster version {content.Version} is valid from {RosterFile.FormatTime(content.NotBefore)}");
        }

        if (now >= content.NotAfter)
        {
            return Refuse(RosterRefusal.RosterExpired, $"roster version {content.Version} expired at {RosterFile.FormatTime(content.NotAfter)}");
        }

        // 9–10. Rollback and equivocation against the last accepted roster.
        if (lastSeen is not null)
        {
            if (content.Version < lastSeen.Version)
            {
                return Refuse(RosterRefusal.Rollback, $"version {content.Version} is older than the last accepted version {lastSeen.Version}");
            }

            if (content.Version == lastSeen.Version && !string.Equals(digest, lastSeen.Digest, StringComparison.Ordinal))
            {
                return Refuse(RosterRefusal.VersionConflict, $"version {content.Version} was accepted before with digest {lastSeen.Digest[..Math.Min(16, lastSeen.Digest.Length)]}…, this one is {digest[..16]}…");
            }
        }

        return new RosterVerification(RosterCheck.Ok, roster);
    }

    private static string Short(ReadOnlySpan<byte> key) => Convert.ToHexStringLower(key[..Math.Min(8, key.Length)]) + "…";

    private static RosterVerification Refuse(RosterCheck check) => new(check, null);

    private static RosterVerification Refuse(RosterRefusal refusal, string detail) => new(new RosterCheck(refusal, detail), null);
}
