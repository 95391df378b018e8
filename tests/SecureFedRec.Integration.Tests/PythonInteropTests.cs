using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Integration.Tests;

/// <summary>
/// Debian's python3-grpcio, with messages generated from protocol-spec/proto (and the standard health/reflection
/// messages) only, against a coordinator started from the CLI (<c>securefedrec coordinator</c>).
/// </summary>
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
        JsonSerializer.Serialize(identity.CreateHeaders("/" + Enrolment.Descriptor.FullName + "/Enrol", request).ToDictionary(kv => kv.Key, kv => kv.Value));

    [Fact]
    public async Task Python_grpcio_gets_correct_statuses_from_the_coordinator()
    {
        string? python = Prerequisites.RequirePython();
        if (python is null)
        {
            return;
        }

        await using var federation = new Federation(clients: 2, allowListed: 1);
        using CliProcess coordinator = CliProcess.Start("coordinator", "--config",
            ProcessTests.WriteCoordinatorConfig(federation, cohort: 3, phaseSeconds: 20));
        Uri address = await coordinator.ListeningAsync(TimeSpan.FromSeconds(60));

        ClientIdentity enrolled = federation.Identities[0];
        ClientIdentity unknown = federation.Identities[1];
        byte[] enrolRequest = new EnrolRequest
        {
            IdentityPublicKey = ByteString.CopyFrom(enrolled.PublicKey),
            DisplayName = "python",
            Organisation = Federation.Organisation(0),
            RosterClientId = Federation.MemberId(0),
        }.ToByteArray();
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
            "--target", "127.0.0.1:" + address.Port,
            "--ca", federation.CertificatePath,
            "--proto-dir", Path.Combine(root, "protocol-spec", "proto"),
            "--enrol-request", Convert.ToHexString(enrolRequest),
            "--enrol-headers", Headers(enrolled, enrolRequest),
            "--unknown-request", Convert.ToHexString(unknownRequest),
            "--unknown-headers", Headers(unknown, unknownRequest),
            "--roster-sha256", Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(federation.RosterPath))),
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
        Assert.True(process.ExitCode == 0, "python interop failed:\n" + output + "\ncoordinator:\n" + coordinator.Output);
        foreach (string check in new[]
        {
            "status_ok", "malformed_message_internal", "oversized_request_resource_exhausted", "oversized_response_resource_exhausted",
            "unknown_method_unimplemented", "unsigned_enrol_unauthenticated", "signed_enrol_ok", "replayed_enrol_refused",
            "unknown_client_permission_denied", "case_changed_method_unimplemented", "health_serving", "health_unknown_service_not_found",
            "reflection_lists_services", "reflection_describes_rounds", "roster_public_exact_bytes",
        })
        {
            Assert.Contains("ok " + check + "\n", output, StringComparison.Ordinal);
        }
    }
}
