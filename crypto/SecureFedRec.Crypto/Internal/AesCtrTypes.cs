namespace SecureFedRec.Crypto.Internal;

/// <summary>Which implementation of the AES-CTR keystream to use (tests force each one; production uses <see cref="Auto"/>).</summary>
internal enum AesCtrBackend
{
    Auto = 0,
    /// <summary>AES-NI: one block per 128-bit register, 8 blocks in flight.</summary>
    AesNi128 = 2,
    /// <summary>.NET <c>Aes.EncryptEcb</c> over counter blocks.</summary>
    Portable = 3,
}

/// <summary>How keystream words are combined into a vector of <see cref="uint"/>.</summary>
internal enum MaskOperation
{
    Overwrite = 0,
    Add = 1,
    Subtract = 2,
}
