namespace SecureFedRec.Wire.Client;

/// <summary>Why the TLS handshake with the coordinator was refused by this client. Closed set.</summary>
public enum TlsFailure
{
    /// <summary>The certificate does not chain to a trusted root (and no pin accepts it).</summary>
    Untrusted = 1,

    /// <summary>A pin is configured and the coordinator's certificate does not match it (whatever the trust store says).</summary>
    PinMismatch = 2,

    /// <summary>The certificate is not issued for the host name of the coordinator's address.</summary>
    NameMismatch = 3,

    /// <summary>The coordinator presented no certificate.</summary>
    NoCertificate = 4,
}

/// <summary>
/// The coordinator's TLS identity was refused (<see cref="Failure"/> names why). Never transient: retrying cannot make
/// an untrusted or unpinned certificate acceptable, so callers do not retry it.
/// </summary>
public sealed class CoordinatorTlsException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CoordinatorTlsException(TlsFailure failure, Uri coordinator, Exception? innerException = null)
        : base(MessageOf(failure, coordinator), innerException)
    {
        Failure = failure;
        Coordinator = coordinator;
    }

    /// <summary>Why the handshake was refused.</summary>
    public TlsFailure Failure { get; }

    /// <summary>The coordinator's address.</summary>
    public Uri Coordinator { get; }

    private static string MessageOf(TlsFailure failure, Uri coordinator) => failure switch
    {
        TlsFailure.PinMismatch => $"TLS: the certificate of {coordinator} does not match the configured pin (refused whatever the trust store says).",
        TlsFailure.NameMismatch => $"TLS: the certificate of {coordinator} is not issued for host '{coordinator.Host}'.",
        TlsFailure.NoCertificate => $"TLS: {coordinator} presented no certificate.",
        _ => $"TLS: the certificate of {coordinator} does not chain to a trusted root and no pin accepts it.",
    };
}
