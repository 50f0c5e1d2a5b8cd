namespace Nylas.Engine.Sync;

/// <summary>How many messages a sync step may still fetch, shared by every folder of the step.</summary>
internal sealed class StepBudget(int messages)
{
    public int Remaining { get; set; } = messages;
    public int Fetched { get; set; }
    public bool Exhausted { get; set; }
    /// <summary>Something was not seen this pass (a folder failed, the server left a UID out): orphans are not collected.</summary>
    public bool Incomplete { get; set; }
}
