namespace SecureFedRec.Protocol.Graph;

/// <summary>Which neighbour-graph construction a round uses (wire value in parentheses is the enum value).</summary>
public enum GraphKind
{
    /// <summary>Complete graph (Bonawitz et al. 2017).</summary>
    Full = 1,

    /// <summary>Randomly relabelled Harary graph (Bell et al. 2020).</summary>
    Harary = 2,
}

/// <summary>The adversary the graph parameters are sized against (Bell et al., CCS 2020: semi-honest and semi-malicious settings).</summary>
public enum ThreatModel
{
    /// <summary>The server follows the protocol but tries to learn individual inputs; up to γ·n clients collude with it.</summary>
    HonestButCurious = 1,

    /// <summary>The server may lie about who dropped out (the consistency-check round is run); up to γ·n colluding clients.</summary>
    SemiMalicious = 2,
}

/// <summary>
/// Graph kind, degree k (excluding the node itself) and Shamir threshold t chosen for a round.
/// </summary>
/// <param name="Kind">The construction.</param>
/// <param name="Degree">k: each client's number of neighbours (for <see cref="GraphKind.Full"/>: clients − 1).</param>
/// <param name="Threshold">t: the number of a client's neighbours' shares needed to reconstruct its secrets.</param>
public sealed record GraphParameters(GraphKind Kind, int Degree, int Threshold);
