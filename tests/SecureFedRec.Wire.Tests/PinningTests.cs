using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using SecureFedRec.Wire.Client;
using SecureFedRec.Wire.Tls;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Wire.Tests;

/// <summary>
/// Certificate pinning that pins: with a pin configured, the coordinator's certificate must match it WHATEVER the trust
/// store says. The decisive case uses a CA this process really trusts (added to the CurrentUser Root store, which .NET
/// on Linux honours; removed again on dispose) that issues the coordinator a valid certificate for 127.0.0.1: without a
/// pin the connection works (so the CA is trusted), with a pin on another certificate it must be refused as
/// <see cref="TlsFailure.PinMismatch"/>. Before the fix, any certificate chaining to a trusted root was accepted.
/// </summary>
[Collection(nameof(TrustStoreCollection))]
public sealed class PinningTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sfr-pin-").FullName;
    private X509Certificate2 _ca = null!;
    private X509Certificate2 _leaf = null!;
    private X509Certificate2 _other = null!;
    private TestCoordinator _coordinator = null!;

    public async Task InitializeAsync()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=SecureFedRec pin test CA " + Guid.NewGuid().ToString("N"), caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        _ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));

        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest("CN=127.0.0.1", leafKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        // 127.0.0.1 only: "localhost" (which also reaches the listener) is the name the certificate does not cover.
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        leafRequest.CertificateExtensions.Add(san.Build());
        leafRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        leafRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        leafRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        leafRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, true, false));
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using X509Certificate2 issued = leafRequest.Create(_ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), serial);
        _leaf = issued.CopyWithPrivateKey(leafKey);
        string cert = Path.Combine(_dir, "leaf.crt");
        string key = Path.Combine(_dir, "leaf.key");
        DevCertificate.WritePem(_leaf, cert, key);
        _other = DevCertificate.Create(["localhost", "127.0.0.1"], TimeSpan.FromDays(1));

        TrustStore.Add(_ca);
        _coordinator = await TestCoordinator.StartAsync([], (cert, key));
    }

    public async Task DisposeAsync()
    {
        TrustStore.Remove(_ca);
        await _coordinator.DisposeAsync();
        _ca.Dispose();
        _leaf.Dispose();
        _other.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<Exception?> CallAsync(CertificatePin? pin, Uri? address = null)
    {
        int retries = 0;
        using var channel = new CoordinatorChannel(address ?? _coordinator.Address, new CoordinatorChannelOptions
        {
            Pin = pin,
            MaxAttempts = 3,
            InitialBackoff = TimeSpan.FromMilliseconds(10),
            OnRetry = (_, _, _, _) => retries++,
        });
        try
        {
            GetStatusResponse status = await channel.InvokeAsync("GetStatus", o => channel.Status.GetStatusAsync(new GetStatusRequest(), o));
            Assert.Equal(CoordinatorProtocol.ApiVersion, status.ApiVersion);
            return null;
        }
        catch (Exception ex) when (ex is CoordinatorTlsException or RpcException)
        {
            Assert.Equal(0, retries); // TLS refusals are not transient
            return ex;
        }
    }

    [Fact]
    public async Task The_test_ca_is_trusted_by_this_process_so_an_unpinned_client_connects() =>
        Assert.Null(await CallAsync(pin: null));

    [Fact]
    public async Task A_pin_on_another_certificate_refuses_a_trusted_chain_as_pin_mismatch()
    {
        Exception? ex = await CallAsync(CertificatePin.ForCertificate(_other));
        CoordinatorTlsException tls = Assert.IsType<CoordinatorTlsException>(ex);
        Assert.Equal(TlsFailure.PinMismatch, tls.Failure);
    }

    [Fact]
    public async Task A_pin_on_another_public_key_refuses_a_trusted_chain_as_pin_mismatch()
    {
        Exception? ex = await CallAsync(CertificatePin.ForPublicKey(_other));
        Assert.Equal(TlsFailure.PinMismatch, Assert.IsType<CoordinatorTlsException>(ex).Failure);
    }

    [Fact]
    public async Task A_pin_on_the_ca_itself_does_not_accept_the_leaf()
    {
        Exception? ex = await CallAsync(CertificatePin.ForCertificate(_ca));
        Assert.Equal(TlsFailure.PinMismatch, Assert.IsType<CoordinatorTlsException>(ex).Failure);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_right_pin_connects(bool spki)
    {
        using X509Certificate2 publicLeaf = X509CertificateLoader.LoadCertificate(_leaf.RawData);
        CertificatePin pin = spki ? CertificatePin.ForPublicKey(publicLeaf) : CertificatePin.ForCertificate(publicLeaf);
        Assert.Null(await CallAsync(pin));
    }

    [Fact]
    public async Task A_host_name_the_certificate_does_not_name_is_a_name_mismatch_even_when_pinned()
    {
        using X509Certificate2 publicLeaf = X509CertificateLoader.LoadCertificate(_leaf.RawData);
        var wrongName = new UriBuilder(_coordinator.Address) { Host = "localhost" }.Uri;
        Exception? ex = await CallAsync(CertificatePin.ForCertificate(publicLeaf), wrongName);
        Assert.Equal(TlsFailure.NameMismatch, Assert.IsType<CoordinatorTlsException>(ex).Failure);
    }
}

/// <summary>A self-signed coordinator certificate the machine does not trust: untrusted unless pinned.</summary>
public sealed class SelfSignedPinningTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sfr-pin-").FullName;
    private X509Certificate2 _certificate = null!;
    private TestCoordinator _coordinator = null!;

    public async Task InitializeAsync()
    {
        _certificate = DevCertificate.Create(["localhost", "127.0.0.1"], TimeSpan.FromDays(1));
        DevCertificate.WritePem(_certificate, Path.Combine(_dir, "c.crt"), Path.Combine(_dir, "c.key"));
        _coordinator = await TestCoordinator.StartAsync([], (Path.Combine(_dir, "c.crt"), Path.Combine(_dir, "c.key")));
    }

    public async Task DisposeAsync()
    {
        await _coordinator.DisposeAsync();
        _certificate.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Pinned_it_connects_and_unpinned_it_is_untrusted_and_not_retried()
    {
        using X509Certificate2 publicCert = X509CertificateLoader.LoadCertificate(_certificate.RawData);
        using (var pinned = new CoordinatorChannel(_coordinator.Address, new CoordinatorChannelOptions { Pin = CertificatePin.ForCertificate(publicCert) }))
        {
            GetStatusResponse status = await pinned.InvokeAsync("GetStatus", o => pinned.Status.GetStatusAsync(new GetStatusRequest(), o));
            Assert.Equal(CoordinatorProtocol.ApiVersion, status.ApiVersion);
        }

        int retries = 0;
        using var unpinned = new CoordinatorChannel(_coordinator.Address, new CoordinatorChannelOptions { OnRetry = (_, _, _, _) => retries++ });
        CoordinatorTlsException ex = await Assert.ThrowsAsync<CoordinatorTlsException>(() =>
            unpinned.InvokeAsync("GetStatus", o => unpinned.Status.GetStatusAsync(new GetStatusRequest(), o)));
        Assert.Equal(TlsFailure.Untrusted, ex.Failure);
        Assert.Equal(0, retries);
    }
}

/// <summary>Tests that change the CurrentUser Root store run one at a time.</summary>
[CollectionDefinition(nameof(TrustStoreCollection), DisableParallelization = true)]
public sealed class TrustStoreCollection
{
}

/// <summary>The CurrentUser Root store: trusted by chain building in this process (and this user's other .NET processes).</summary>
internal static class TrustStore
{
    public static void Add(X509Certificate2 ca)
    {
        using var store = new X509Store(StoreName.Root, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        using X509Certificate2 publicCa = X509CertificateLoader.LoadCertificate(ca.RawData);
        store.Add(publicCa);
    }

    public static void Remove(X509Certificate2 ca)
    {
        using var store = new X509Store(StoreName.Root, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        foreach (X509Certificate2 c in store.Certificates.Find(X509FindType.FindByThumbprint, ca.Thumbprint, validOnly: false))
        {
            store.Remove(c);
            c.Dispose();
        }
    }
}
