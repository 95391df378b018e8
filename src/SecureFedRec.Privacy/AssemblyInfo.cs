using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("SecureFedRec.Privacy.Tests")]
[assembly: CLSCompliant(false)]
