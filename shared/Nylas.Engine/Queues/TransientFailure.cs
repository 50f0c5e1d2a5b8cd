using System.IO;
using System.Net.Sockets;
using Azure;
using Azure.Messaging.ServiceBus;
using MySqlConnector;

namespace Nylas.Engine.Queues;

/// <summary>
/// Which failures of queued work are the infrastructure's (database, storage, queue, network): those are retried
/// for as long as they last and never count toward parking the work. Anything else (a bug, data the database
/// refuses, a blob that does not exist) is the work's own failure.
/// </summary>
public static class TransientFailure
{
    /// <summary>True when <paramref name="error"/>, or anything it wraps, says the infrastructure was unavailable.</summary>
    public static bool Is(Exception? error)
    {
        for (int depth = 0; error is not null && depth < 16; depth++)
        {
            if (IsOne(error)) return true;
            if (error is AggregateException aggregate)
                return aggregate.InnerExceptions.Any(Is);
            error = error.InnerException;
        }
        return false;
    }

    private static bool IsOne(Exception error) => error switch
    {
        MySqlException mysql => IsTransient(mysql),
        // Status 0: no response at all (connection refused, reset, DNS); 408, 429, 5xx: the service said "not now".
        RequestFailedException storage => storage.Status is 0 or 408 or 429 or >= 500,
        ServiceBusException serviceBus => serviceBus.IsTransient || serviceBus.Reason is ServiceBusFailureReason.ServiceCommunicationProblem
            or ServiceBusFailureReason.ServiceTimeout or ServiceBusFailureReason.ServiceBusy or ServiceBusFailureReason.QuotaExceeded,
        SocketException or TimeoutException or HttpRequestException => true,
        // A connection that died mid-read or mid-write (also how a database connection cut mid-query surfaces).
        IOException io when io is not FileNotFoundException and not DirectoryNotFoundException => true,
        // Cancellation that is not the caller's (the caller's is handled before classification): a client-side timeout.
        OperationCanceledException => true,
        _ => false,
    };

    /// <summary>The server unreachable, overloaded, going down, or a lock conflict that a later attempt does not meet.</summary>
    private static bool IsTransient(MySqlException error) => error.IsTransient || error.ErrorCode is
        MySqlErrorCode.UnableToConnectToHost
        or MySqlErrorCode.LockWaitTimeout
        or MySqlErrorCode.LockDeadlock
        or MySqlErrorCode.ConnectionCountError
        or MySqlErrorCode.TooManyUserConnections
        or MySqlErrorCode.ServerShutdown
        or MySqlErrorCode.QueryInterrupted
        or MySqlErrorCode.CommandTimeoutExpired;
}
