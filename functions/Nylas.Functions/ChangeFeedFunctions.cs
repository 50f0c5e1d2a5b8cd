using Microsoft.Azure.Functions.Worker;
using Nylas.Engine.Hosting;

namespace Nylas.Functions;

/// <summary>The change log's retention timer (the timer table's ChangeLogPurge entry).</summary>
public sealed class ChangeFeedFunctions(IServiceProvider services)
{
    [Function(nameof(EngineTimers.ChangeLogPurge))]
    public Task<int> ChangeLogPurge([TimerTrigger("%Nylas:Timers:ChangeLogPurge%")] TimerInfo timer, FunctionContext context)
        => EngineTimers.ChangeLogPurge.RunAsync(services, context.CancellationToken);
}
