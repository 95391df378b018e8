namespace SecureFedRec.Protocol.Conformance;

/// <summary>The result of replaying one vector.</summary>
/// <param name="File">Vector file name.</param>
/// <param name="Name">Vector name inside the file.</param>
/// <param name="Passed">Whether the recomputed values match the file.</param>
/// <param name="Detail">The first mismatch, or "ok".</param>
public sealed record VectorCheck(string File, string Name, bool Passed, string Detail);
