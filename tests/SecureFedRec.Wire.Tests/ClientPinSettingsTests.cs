using SecureFedRec.Client;
using SecureFedRec.Wire.Auth;

namespace SecureFedRec.Wire.Tests;

/// <summary>The client's pin settings reach the SDK options, and a malformed pin stops with the setting's name.</summary>
public sealed class ClientPinSettingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sfr-settings-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ClientSettings Settings(string? pin)
    {
        using var id = ClientIdentity.Generate();
        string key = Path.Combine(_dir, "client.key");
        if (!File.Exists(key))
        {
            id.WriteKeyFile(key);
        }

        return new ClientSettings { Coordinator = "https://127.0.0.1:7443/", IdentityKeyPath = key, CoordinatorPublicKeyPin = pin };
    }

    [Fact]
    public void A_public_key_pin_becomes_the_sdk_pin()
    {
        FederationClientOptions options = Settings(new string('a', 64)).ToOptions();
        using (options.Identity)
        {
            Assert.NotNull(options.Pin);
            Assert.True(options.Pin!.IsSpki);
        }
    }

    [Fact]
    public void No_pin_leaves_the_trust_store_in_charge()
    {
        FederationClientOptions options = Settings(null).ToOptions();
        using (options.Identity)
        {
            Assert.Null(options.Pin);
            Assert.Null(options.TrustedCertificate);
        }
    }

    [Theory]
    [InlineData("not-a-pin")]
    [InlineData("abcd")]
    public void A_malformed_pin_names_the_setting(string pin)
    {
        SecureFedRec.Configuration.ConfigurationException ex = Assert.Throws<SecureFedRec.Configuration.ConfigurationException>(() => Settings(pin).ToOptions());
        Assert.Contains("Client:CoordinatorPublicKeyPin", ex.Message, StringComparison.Ordinal);
    }
}
