using SecureFedRec.Crypto;

namespace SecureFedRec.Rounds;

/// <summary>
/// A roster name: the organisation and the roster client id of one member (<c>protocol-spec/roster.md</c>). A client
/// states its own as <see cref="Client.ClientRoundOptions.Self"/>.
/// </summary>
/// <param name="Organisation">The member's organisation, as the roster spells it.</param>
/// <param name="ClientId">The member's roster client id.</param>
public sealed record MemberName(string Organisation, string ClientId)
{
    /// <summary><c>organisation/client-id</c>, for messages.</summary>
    public override string ToString() => Organisation + "/" + ClientId;
}

/// <summary>
/// One member of a round's cohort as the contract announces it (and its canonical encoding binds): the member's protocol
/// client number and its roster name. No key travels: every client takes the member's identity key from its own verified
/// roster, never from the coordinator.
/// </summary>
/// <param name="ClientNumber">The member's protocol client id (its <c>RoundInfo.client_number</c>), in [1, 2^31).</param>
/// <param name="Organisation">The member's organisation.</param>
/// <param name="ClientId">The member's roster client id.</param>
public sealed record CohortEntry(int ClientNumber, string Organisation, string ClientId)
{
    /// <summary>Most UTF-8 bytes of an organisation or client id in a cohort entry.</summary>
    public const int MaxNameBytes = 256;

    /// <summary>The member's roster name.</summary>
    public MemberName Name => new(Organisation, ClientId);
}

/// <summary>
/// What the coordinator knows of a caller it may put in a cohort: its roster name and the identity key the roster enrols
/// for it (<see cref="Server.RoundHostOptions.IdentityOf"/>). A caller without one cannot be in a malicious-mode cohort.
/// </summary>
/// <param name="Organisation">The caller's organisation in the roster.</param>
/// <param name="ClientId">The caller's roster client id.</param>
/// <param name="Key">The caller's identity public key (with its suite) as the roster lists it.</param>
public sealed record CohortIdentity(string Organisation, string ClientId, IdentityPublicKey Key)
{
    /// <summary>The caller's roster name.</summary>
    public MemberName Name => new(Organisation, ClientId);
}
