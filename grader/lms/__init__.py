"""Learning-management-system glue: Canvas bulk downloads in, Gradescope's autograder layout."""
