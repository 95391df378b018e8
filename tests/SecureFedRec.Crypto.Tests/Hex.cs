namespace SecureFedRec.Crypto.Tests;

internal static class Hex
{
    public static byte[] D(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));

    public static string E(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);
}
