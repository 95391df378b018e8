using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf;
using SecureFedRec.Coordinator;
using SecureFedRec.Wire;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Server;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Integration.Tests;

/// <summary>Debian's python3-grpcio, with messages generated from protocol-spec/proto only, against the coordinator.</summary>
public sealed class PythonInteropTests
{
    internal static string RepoRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "protocol-spec", "proto", "coordinator.proto")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("protocol-spec/proto not found above " + AppContext.BaseDirectory);
    }

    private static string Headers(ClientIdentity identity, byte[] request) =>
        JsonSerializer.Serialize(identity.CreateHeaders(WireEndpoints.PathOf(CoordinatorApi.Enrol), request).ToDictionary(kv => kv.Key, kv => kv.Value));

    [Fact]
    public async Task Python_grpcio_gets_correct_statuses_from_the_coordinator()
    {
        string? python = Prerequisites.RequirePython();
        if (python is null)
        {
            return;
        }

        await using var federation = new Federation(clients: 2, allowListed: 1);
        CoordinatorOptions options = federation.Options();
        options.MaxMessageBytes = 64 * 1024;
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(options);

        ClientIdentity enrolled = federation.Identities[0];
        ClientIdentity unknown = federation.Identities[1];
        byte[] enrolRequest = new EnrolRequest { IdentityPublicKey = ByteString.CopyFrom(enrolled.PublicKey), DisplayName = "python" }.ToByteArray();
        byte[] unknownRequest = new EnrolRequest { IdentityPublicKey = ByteString.CopyFrom(unknown.PublicKey) }.ToByteArray();
        string root = RepoRoot();
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string arg in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "interop", "interop_client.py"),
            "--target", "127.0.0.1:" + host.Address.Port,
            "--ca", federation.CertificatePath,
            "--proto-dir", Path.Combine(root, "protocol-spec", "proto"),
            "--enrol-request", Convert.ToHexString(enrolRequest),
            "--enrol-headers", Headers(enrolled, enrolRequest),
            "--unknown-request", Convert.ToHexString(unknownRequest),
            "--unknown-headers", Headers(unknown, unknownRequest),
            "--max-message", options.MaxMessageBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        })
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        string output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, "python interop failed:\n" + output);
        foreach (string check in new[]
        {
            "status_ok", "malformed_message_internal", "oversized_request_resource_exhausted", "oversized_response_resource_exhausted",
            "unknown_method_unimplemented", "unsigned_enrol_unauthenticated", "signed_enrol_ok", "replayed_enrol_refused",
            "unknown_client_permission_denied",
        })
        {
            Assert.Contains("ok " + check + "\n", output, StringComparison.Ordinal);
        }
    }
}
