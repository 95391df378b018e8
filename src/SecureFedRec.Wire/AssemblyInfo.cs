using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("SecureFedRec.Wire.Tests")]
[assembly: InternalsVisibleTo("SecureFedRec.Integration.Tests")]
[assembly: CLSCompliant(false)]
