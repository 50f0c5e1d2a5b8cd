using Nylas.Core.Search;
using Xunit;

namespace Nylas.Core.Tests.Search;

public class FullTextQueryTests
{
    [Theory]
    [InlineData("invoice", "+invoice")]
    [InlineData("  quarterly   review ", "+quarterly +review")]
    [InlineData("\"quarterly review\"", "+\"quarterly review\"")]
    [InlineData("alice@example.org", "+\"alice example org\"")]
    [InlineData("Résumé 2027", "+Résumé +2027")]
    [InlineData("bob_smith", "+bob_smith")]
    public void Every_word_is_required_and_phrases_stay_phrases(string q, string expected)
        => Assert.Equal(expected, FullTextQuery.Build(q).Query);

    [Theory]
    [InlineData("+budget -draft", "+budget +draft")]
    [InlineData("budget*", "+budget")]
    [InlineData("(budget) ~draft <x> @3", "+budget +draft")]
    [InlineData("\"unclosed phrase", "+\"unclosed phrase\"")]
    public void Boolean_operators_typed_by_the_user_are_plain_text(string q, string expected)
        => Assert.Equal(expected, FullTextQuery.Build(q).Query);

    [Theory]
    [InlineData("the budget of 2027", "+budget +2027")]
    [InlineData("go to the budget", "+budget")]
    [InlineData("\"the budget\"", "+\"budget\"")]
    public void Words_the_index_never_holds_are_left_out(string q, string expected)
        => Assert.Equal(expected, FullTextQuery.Build(q).Query);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("to be or")]
    [InlineData("!!! ?? --")]
    public void Text_without_a_searchable_word_is_an_error_not_an_empty_result(string? q)
    {
        var (query, error) = FullTextQuery.Build(q);
        Assert.Null(query);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Very_long_queries_are_refused()
    {
        Assert.NotNull(FullTextQuery.Build(new string('x', FullTextQuery.MaxLength + 1)).Error);
        Assert.NotNull(FullTextQuery.Build(string.Join(' ', Enumerable.Range(0, FullTextQuery.MaxTerms + 1).Select(i => $"word{i}"))).Error);
        Assert.Null(FullTextQuery.Build(string.Join(' ', Enumerable.Range(0, FullTextQuery.MaxTerms).Select(i => $"word{i}"))).Error);
    }
}
