namespace SecureFedRec.Privacy.Mechanism;

/// <summary>Why the client-side encoding could not complete (closed vocabulary).</summary>
public enum EncodeFailure
{
    /// <summary>Conditional randomized rounding did not meet its norm bound within the attempt limit (β too small for d).</summary>
    RoundingDidNotConverge = 1,

    /// <summary>A scaled coordinate does not fit a 62-bit integer (γ far too small for the input).</summary>
    ScaledValueOutOfRange = 2,
}

/// <summary>Thrown by <see cref="DistributedDiscreteGaussianMechanism"/> when encoding fails for a reason other than a bad argument.</summary>
public sealed class PrivacyMechanismException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PrivacyMechanismException(EncodeFailure reason, string message)
        : base(message) => Reason = reason;

    /// <summary>Creates the exception (serialization-free default).</summary>
    public PrivacyMechanismException()
        : base("Encoding failed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public PrivacyMechanismException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public PrivacyMechanismException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The failure reason.</summary>
    public EncodeFailure Reason { get; }
}
