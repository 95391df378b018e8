using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace SecureFedRec.Coordinator.Grpc;

/// <summary>
/// Method definitions for the coordinator.proto services (the signed Enrolment and Rounds, and CoordinatorStatus), bound by the coordinator's own service classes
/// instead of the generated ones so that the request marshaller sees the message bytes exactly as framed: it enforces the
/// method's size limit, hashes the bytes (SHA-256) and parses them. <see cref="CallerOf"/> then checks that hash against
/// the one the signature covered (<c>x-sfr-request-sha256-bin</c>, verified before the body was read by
/// <see cref="SignedRequestMiddleware"/>).
/// </summary>
/// <remarks>Thread-safe. Hashes are attached to the parsed request object (weakly), never to a call-wide slot.</remarks>
internal static class SignedMessages
{
    /// <summary><c>HttpContext.Items</c> key of the authenticated client id.</summary>
    public static readonly object ClientIdItem = new();

    /// <summary><c>HttpContext.Items</c> key of the signed request hash.</summary>
    public static readonly object RequestHashItem = new();

    private static readonly ConditionalWeakTable<object, byte[]> s_bodyHashes = new();

    /// <summary>A unary method of <paramref name="descriptor"/> named <paramref name="name"/>, taking requests up to <paramref name="maxRequestBytes"/>.</summary>
    /// <param name="descriptor">The service.</param>
    /// <param name="name">The method's name.</param>
    /// <param name="parser">The request's parser.</param>
    /// <param name="maxRequestBytes">Largest request.</param>
    /// <param name="parse">Decodes a request instead of <paramref name="parser"/> (throwing what it throws), or null.</param>
    public static Method<TRequest, TResponse> Unary<TRequest, TResponse>(ServiceDescriptor descriptor, string name, MessageParser<TRequest> parser, int maxRequestBytes,
        Func<ReadOnlySequence<byte>, TRequest>? parse = null)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>, new()
    {
        MethodDescriptor method = descriptor.FindMethodByName(name)
            ?? throw new ArgumentException("No method " + name + " in " + descriptor.FullName + ".", nameof(name));
        Func<ReadOnlySequence<byte>, TRequest> decode = parse ?? parser.ParseFrom;
        var request = new Marshaller<TRequest>(Serialize, context => DeserializeRequest(context, decode, maxRequestBytes));
        var responseParser = new MessageParser<TResponse>(() => new TResponse());
        var response = new Marshaller<TResponse>(Serialize, context => responseParser.ParseFrom(context.PayloadAsReadOnlySequence()));
        return new Method<TRequest, TResponse>(MethodType.Unary, descriptor.FullName, method.Name, request, response);
    }

    /// <summary>
    /// The authenticated client of a call whose request is <paramref name="request"/>: the id the middleware verified,
    /// provided the body hashes to the signed value; UNAUTHENTICATED otherwise.
    /// </summary>
    public static string CallerOf(object request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        HttpContext http = context.GetHttpContext();
        if (http.Items[ClientIdItem] is not string clientId || http.Items[RequestHashItem] is not byte[] signed)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "The call was not authenticated."));
        }

        if (!s_bodyHashes.TryGetValue(request, out byte[]? actual) || !CryptographicOperations.FixedTimeEquals(actual, signed))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "The request body does not match its signed hash."));
        }

        return clientId;
    }

    private static void Serialize<T>(T message, SerializationContext context)
        where T : IMessage<T>
    {
        context.SetPayloadLength(message.CalculateSize());
        message.WriteTo(context.GetBufferWriter());
        context.Complete();
    }

    private static TRequest DeserializeRequest<TRequest>(DeserializationContext context, Func<ReadOnlySequence<byte>, TRequest> parse, int maxRequestBytes)
        where TRequest : class, IMessage<TRequest>
    {
        if (context.PayloadLength > maxRequestBytes)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, "Received message exceeds the maximum size of this method."));
        }

        ReadOnlySequence<byte> payload = context.PayloadAsReadOnlySequence();
        byte[] hash = Hash(payload);
        TRequest message;
        try
        {
            message = parse(payload);
        }
        catch (InvalidProtocolBufferException)
        {
            throw new RpcException(new Status(StatusCode.Internal, "Failed to deserialize request message."));
        }

        s_bodyHashes.AddOrUpdate(message, hash);
        return message;
    }

    private static byte[] Hash(ReadOnlySequence<byte> payload)
    {
        if (payload.IsSingleSegment)
        {
            return SHA256.HashData(payload.FirstSpan);
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (ReadOnlyMemory<byte> segment in payload)
        {
            hash.AppendData(segment.Span);
        }

        return hash.GetHashAndReset();
    }
}
