using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("SecureFedRec.Integration.Tests")]
[assembly: CLSCompliant(false)]
