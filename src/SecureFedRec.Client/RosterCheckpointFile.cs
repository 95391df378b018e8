using System.Globalization;
using System.Text;
using SecureFedRec.Roster;

namespace SecureFedRec.Client;

/// <summary>
/// The client's persisted roster checkpoint (<c>protocol-spec/roster.md</c> §5 steps 9–10): one line
/// <c>securefedrec-roster-checkpoint/1 VERSION DIGEST</c>, written atomically beside the ledger (temporary file, rename;
/// never through a symbolic link). It only moves forward: the verifier refuses an older version (Rollback) or the same
/// version with another digest (VersionConflict) before it is written.
/// </summary>
/// <remarks>Stateless and thread-safe. A damaged file is an error (<see cref="InvalidDataException"/>), never treated as
/// absent, which would silently drop the rollback protection.</remarks>
public static class RosterCheckpointFile
{
    private const string Format = "securefedrec-roster-checkpoint/1";

    /// <summary>The checkpoint stored at <paramref name="path"/>, or null when the file does not exist.</summary>
    /// <exception cref="InvalidDataException">The file exists but is not a checkpoint.</exception>
    public static RosterCheckpoint? Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            return null;
        }

        string text = Encoding.UTF8.GetString(SafeFile.ReadAll(path, 1024)).Trim();
        string[] parts = text.Split(' ');
        if (parts.Length != 3 || parts[0] != Format
            || !ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong version) || version == 0
            || !RosterFile.TryParseHex(parts[2], out byte[] digest) || digest.Length != 32)
        {
            throw new InvalidDataException($"{path}: not a roster checkpoint ('{Format} VERSION DIGEST'); restore it or, knowing the last roster you accepted, rewrite it. Deleting it disables rollback protection once.");
        }

        return new RosterCheckpoint(version, parts[2]);
    }

    /// <summary>Writes <paramref name="checkpoint"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, RosterCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(checkpoint);
        string line = Format + " " + checkpoint.Version.ToString(CultureInfo.InvariantCulture) + " " + checkpoint.Digest + "\n";
        SafeFile.Replace(path, Encoding.ASCII.GetBytes(line), secret: false);
    }
}
